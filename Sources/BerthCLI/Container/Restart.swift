import ArgumentParser

extension Berth {
    /// `berth restart`: stop (with the grace period) and start again.
    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restart",
            abstract: "Restart one or more containers.",
            usage: "berth restart [OPTIONS] CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Signal to send to the container.", valueName: "string"))
        var signal: String?

        @Option(
            name: [.customShort("t"), .customLong("timeout"), .customLong("time")], parsing: .unconditional,
            help: ArgumentHelp("Seconds to wait before killing the container.", valueName: "int"))
        var timeout: Int?

        @Argument(help: ArgumentHelp("The containers to restart.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth restart' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            var query: [(String, String)] = []
            if let signal { query.append(("signal", signal)) }
            if let timeout { query.append(("t", String(timeout))) }
            try Batch.run(containers) { name throws(CLIError) in
                try daemon.checked("POST", "/containers/\(Daemon.escape(name))/restart", query: query)
                Output.line(name)
            }
        }
    }
}
