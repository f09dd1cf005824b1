import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth logs`: the container's output, split back into stdout and stderr unless it has a TTY.
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Fetch the logs of a container.",
            usage: "berth logs [OPTIONS] CONTAINER"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .long, help: "Show extra details provided to logs.")
        var details = false

        @Flag(name: .shortAndLong, help: "Follow log output.")
        var follow = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes).",
                valueName: "string"))
        var since: String?

        @Option(
            name: [.customShort("n"), .customLong("tail")], parsing: .unconditional,
            help: ArgumentHelp("Number of lines to show from the end of the logs.", valueName: "string"))
        var tail = "all"

        @Flag(name: .shortAndLong, help: "Show timestamps.")
        var timestamps = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes).",
                valueName: "string"))
        var until: String?

        @Argument(help: ArgumentHelp("The container.", valueName: "container"))
        var container: String

        func run() throws {
            let daemon = berth.daemon
            // The stream is framed unless the container has a TTY, and only inspect says which.
            let info = try daemon.json("GET", "/containers/\(Daemon.escape(container))/json")
            let tty = info["Config"]?["Tty"]?.boolValue ?? false
            let id = info["Id"]?.stringValue ?? container
            let now = TimeFormat.nowNanos()
            var query: [(String, String)] = []
            if details { query.append(("details", "1")) }
            if follow { query.append(("follow", "1")) }
            if let since { query.append(("since", TimeFormat.timestamp(since, nowNanos: now))) }
            query += [("stderr", "1"), ("stdout", "1"), ("tail", tail)]
            if timestamps { query.append(("timestamps", "1")) }
            if let until { query.append(("until", TimeFormat.timestamp(until, nowNanos: now))) }
            var demux = StreamDemultiplexer()
            try daemon.stream("GET", "/containers/\(id)/logs", query: query) { chunk in
                if tty { return Output.write(1, chunk) }
                return demux.feedRuns(chunk) { stream, payload in
                    Output.write(stream == StreamDemultiplexer.stdout ? 1 : 2, payload)
                }
            }
        }
    }
}
