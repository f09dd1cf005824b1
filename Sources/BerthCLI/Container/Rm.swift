import ArgumentParser

extension Berth {
    /// `berth rm`: remove containers (`-f` kills running ones first).
    struct Rm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove one or more containers.",
            usage: "berth rm [OPTIONS] CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Force the removal of a running container (uses SIGKILL).")
        var force = false

        @Flag(name: .shortAndLong, help: "Remove anonymous volumes associated with the container.")
        var volumes = false

        @Argument(help: ArgumentHelp("The containers to remove.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth rm' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            var query: [(String, String)] = []
            if force { query.append(("force", "1")) }
            if volumes { query.append(("v", "1")) }
            try Batch.run(containers) { name throws(CLIError) in
                try daemon.checked("DELETE", "/containers/\(Daemon.escape(name))", query: query)
                Output.line(name)
            }
        }
    }
}
