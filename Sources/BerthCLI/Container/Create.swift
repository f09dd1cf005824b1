import ArgumentParser

extension Berth {
    /// `berth create`: create a container without starting it; prints its ID.
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a new container.",
            usage: "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]",
            helpNames: [.long]
        )

        @ParentCommand var berth: Berth

        @OptionGroup var options: ContainerOptions

        func run() throws {
            // `--help` arrives here when it follows other flags: the image-and-command capture takes it.
            if options.imageAndCommand.first == "--help" {
                Output.out(Berth.helpMessage(for: Self.self) + "\n")
                return
            }
            let request = try options.createRequest(command: "create")
            let id = try ContainerCreator(daemon: berth.daemon, command: "create").create(request, pull: options.pull)
            Output.line(id)
        }
    }
}
