import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth wait`: block until containers stop, printing each exit code.
    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wait",
            abstract: "Block until one or more containers stop, then print their exit codes.",
            usage: "berth wait CONTAINER [CONTAINER...]"
        )

        @ParentCommand var berth: Berth

        @Argument(help: ArgumentHelp("The containers to wait for.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth wait' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            try Batch.run(containers) { name throws(CLIError) in
                let body: [UInt8]
                do throws(BerthError) {
                    body = try daemon.client.open("POST", "/containers/\(Daemon.escape(name))/wait").readAll()
                } catch {
                    throw CLIError(error)
                }
                let code = try AttachedStart.exitCode(fromWaitBody: body)
                Output.line(String(code))
            }
        }
    }
}
