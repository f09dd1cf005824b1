import ArgumentParser

extension Berth {
    /// `berth rmi`: untag and delete images.
    struct Rmi: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rmi",
            abstract: "Remove one or more images.",
            usage: "berth rmi [OPTIONS] IMAGE [IMAGE...]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Force removal of the image.")
        var force = false

        @Flag(name: .customLong("no-prune"), help: "Do not delete untagged parents.")
        var noPrune = false

        @Argument(help: ArgumentHelp("The images to remove.", valueName: "image"))
        var images: [String] = []

        func validate() throws {
            if images.isEmpty { throw ValidationError("'berth rmi' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            var query: [(String, String)] = []
            if force { query.append(("force", "1")) }
            if noPrune { query.append(("noprune", "1")) }
            try Batch.run(images) { name throws(CLIError) in
                let answer = try daemon.json("DELETE", "/images/\(Daemon.escape(name))", query: query)
                for item in answer.arrayValue ?? [] {
                    if let untagged = item["Untagged"]?.stringValue { Output.line("Untagged: \(untagged)") }
                    if let deleted = item["Deleted"]?.stringValue { Output.line("Deleted: \(deleted)") }
                }
            }
        }
    }
}
