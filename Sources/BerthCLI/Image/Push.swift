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
            var lines = JSONLines()
            var progress = PullProgress(terminal: !quiet && Output.isTerminal(1))
            var failure: String? = nil
            var finished = false
            func show(_ m: JSONValue) -> Bool {
                if let error = m["errorDetail"]?["message"]?.stringValue ?? m["error"]?.stringValue {
                    failure = error
                    return false
                }
                if m["aux"] != nil { finished = true }
                if !quiet, m["aux"] == nil { progress.show(m) }
                return true
            }
            let auth = CredentialStore.header(for: CredentialStore.host(ofImage: image))
            try berth.daemon.stream(
                "POST", "/images/\(Daemon.escape(name.repository))/push", query: query,
                headers: [("X-Registry-Auth", auth)]
            ) { chunk in
                lines.feed(chunk).allSatisfy(show)
            }
            _ = lines.finish().allSatisfy(show)
            if let failure { throw CLIError(failure) }
            guard finished else { throw CLIError("error pushing \(image): unexpected EOF") }
            if quiet { Output.line(ImageName.tagged(image)) }
        }
    }
}
