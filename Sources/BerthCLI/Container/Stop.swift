import ArgumentParser

extension Berth {
    /// `berth stop`: send the stop signal, then SIGKILL after the grace period.
    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Stop one or more running containers.",
            usage: "berth stop [OPTIONS] CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Signal to send to the container.", valueName: "string"))
        var signal: String?

        @Option(
            name: [.customShort("t"), .customLong("timeout"), .customLong("time")], parsing: .unconditional,
            help: ArgumentHelp("Seconds to wait before killing the container.", valueName: "int"))
        var timeout: Int?

        @Argument(help: ArgumentHelp("The containers to stop.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth stop' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            var query: [(String, String)] = []
            if let signal { query.append(("signal", signal)) }
            if let timeout { query.append(("t", String(timeout))) }
            try Batch.run(containers) { name throws(CLIError) in
                try daemon.checked("POST", "/containers/\(Daemon.escape(name))/stop", query: query)
                Output.line(name)
            }
        }
    }
}
