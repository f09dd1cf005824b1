import ArgumentParser

extension Berth {
    /// `berth kill`: send a signal (SIGKILL by default).
    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kill",
            abstract: "Kill one or more running containers.",
            usage: "berth kill [OPTIONS] CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Signal to send to the container.", valueName: "string"))
        var signal: String?

        @Argument(help: ArgumentHelp("The containers to kill.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth kill' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            let query: [(String, String)] = signal.map { [("signal", $0)] } ?? []
            try Batch.run(containers) { name throws(CLIError) in
                try daemon.checked("POST", "/containers/\(Daemon.escape(name))/kill", query: query)
                Output.line(name)
            }
        }
    }
}
