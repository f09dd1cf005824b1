import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth push`: an image (a tag, or every tag of the repository with `-a`) to its registry.
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Upload an image to a registry.",
            usage: "berth push [OPTIONS] NAME[:TAG]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: [.customShort("a"), .customLong("all-tags")], help: "Push all tags of an image to the repository.")
        var allTags = false

        @Flag(name: .shortAndLong, help: "Suppress verbose output.")
        var quiet = false

        @Argument(help: ArgumentHelp("The image.", valueName: "name[:tag]"))
        var image: String

        func run() throws {
            guard !image.isEmpty, !image.contains(" "), !image.contains("@") else {
                throw CLIError("invalid reference format: \(image)")
            }
            let name = ImageName(image)
            if allTags, name.tag != nil { throw CLIError("tag can't be used with --all-tags/-a") }
            var query: [(String, String)] = []
            if !allTags { query.append(("tag", name.tag ?? "latest")) }
            var progress = PullProgress(terminal: !quiet && Output.isTerminal(1))
            try berth.daemon.progress(
                "POST", "/images/\(Daemon.escape(name.repository))/push", query: query, image: image,
                action: "pushing", isEnd: { $0["aux"] != nil }
            ) { if !quiet, $0["aux"] == nil { progress.show($0) } }
            if quiet { Output.line(ImageName.tagged(image)) }
        }
    }
}
