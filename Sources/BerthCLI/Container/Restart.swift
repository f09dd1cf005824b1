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

        @OptionGroup var options: StopOptions

        @Argument(help: ArgumentHelp("The containers to restart.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth restart' requires at least 1 argument") }
        }

        func run() throws {
            try options.send("restart", to: containers, daemon: berth.daemon)
        }
    }
}
