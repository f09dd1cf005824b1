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

        @OptionGroup var options: StopOptions

        @Argument(help: ArgumentHelp("The containers to stop.", valueName: "container"))
        var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth stop' requires at least 1 argument") }
        }

        func run() throws {
            try options.send("stop", to: containers, daemon: berth.daemon)
        }
    }
}
