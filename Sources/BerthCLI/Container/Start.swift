import ArgumentParser
import BerthCore

extension Berth {
    /// `berth start`: start stopped containers; with `-a` stay attached and exit with the container's code.
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start one or more stopped containers.",
            usage: "berth start [OPTIONS] CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Attach STDOUT/STDERR and forward signals.")
        var attach = false

        @Flag(name: .shortAndLong, help: "Attach container's STDIN.")
        var interactive = false

        @Option(
            name: .customLong("detach-keys"),
            help: ArgumentHelp("Override the key sequence for detaching a container.", valueName: "string"))
        var detachKeys = ""

        @Argument(help: ArgumentHelp("The containers to start.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth start' requires at least 1 argument") }
            if (attach || interactive), containers.count > 1 {
                throw ValidationError("you cannot start and attach multiple containers at once")
            }
        }

        func run() throws {
            let daemon = berth.daemon
            guard attach || interactive else {
                try Batch.run(containers, summary: "failed to start containers") { name throws(CLIError) in
                    try daemon.checked("POST", "/containers/\(Daemon.escape(name))/start")
                    Output.line(name)
                }
                return
            }
            let info = try daemon.json("GET", "/containers/\(Daemon.escape(containers[0]))/json")
            guard let id = info["Id"]?.stringValue else { throw CLIError("unexpected answer from the daemon") }
            var session = AttachedStart(daemon: daemon, id: id)
            session.tty = info["Config"]?["Tty"]?.boolValue ?? false
            session.stdin = interactive && (info["Config"]?["OpenStdin"]?.boolValue ?? false)
            session.detachKeys = detachKeys
            let code = try session.run()
            if code != 0 { throw ExitCode(code) }
        }
    }
}
