import ArgumentParser

extension Berth {
    /// `berth tag`: give an image another name.
    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tag",
            abstract: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.",
            usage: "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"
        )

        @ParentCommand var berth: Berth

        @Argument(help: ArgumentHelp("The image to tag.", valueName: "source_image[:tag]"))
        var source: String

        @Argument(help: ArgumentHelp("The new name.", valueName: "target_image[:tag]"))
        var target: String

        func run() throws {
            let name = ImageName(target)
            if name.digest != nil { throw CLIError("refusing to create a tag with a digest reference") }
            try berth.daemon.checked(
                "POST", "/images/\(Daemon.escape(source))/tag",
                query: [("repo", name.repository), ("tag", name.tag ?? "latest")])
        }
    }
}
