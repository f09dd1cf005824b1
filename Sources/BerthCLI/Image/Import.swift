import ArgumentParser
import BerthAPIClient
import BerthCore
import Glibc

extension Berth {
    /// `berth import`: make an image from a filesystem tarball (a file, or `-` for stdin), streamed chunked.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import the contents from a tarball to create a filesystem image.",
            usage: "berth import [OPTIONS] file|- [REPOSITORY[:TAG]]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Apply Dockerfile instruction to the created image.", valueName: "instruction"))
        var change: [String] = []

        @Option(name: .shortAndLong, help: ArgumentHelp("Set commit message for imported image.", valueName: "string"))
        var message: String?

        @Option(
            name: .long, help: ArgumentHelp("Set platform if server is multi-platform capable.", valueName: "string"))
        var platform: String?

        @Argument(help: ArgumentHelp("The tarball, or - for standard input.", valueName: "file|-"))
        var source: String

        @Argument(help: ArgumentHelp("The image name to give it.", valueName: "repository[:tag]"))
        var reference: String?

        func run() throws {
            var query: [(String, String)] = change.map { ("changes", $0) }
            query.append(("fromSrc", "-"))
            if let message { query.append(("message", message)) }
            if let platform { query.append(("platform", platform)) }
            if let reference { query.append(("repo", reference)) }

            var input: Int32 = 0
            if source != "-" {
                input = open(source, O_RDONLY | O_CLOEXEC)
                guard input >= 0 else {
                    throw CLIError("open \(source): \(String(cString: strerror(errno)).lowercased())")
                }
            }
            defer { if input != 0 { close(input) } }

            var lines = JSONLines()
            var failure: String? = nil
            func show(_ m: JSONValue) -> Bool {
                if let error = m["error"]?.stringValue ?? m["errorDetail"]?["message"]?.stringValue {
                    failure = error
                    return false
                }
                if let status = m["status"]?.stringValue { Output.line(status) }
                if let stream = m["stream"]?.stringValue { Output.out(stream) }
                return true
            }
            do {
                try berth.daemon.client.upload(
                    "POST", "/images/create", query: query, headers: [("Content-Type", "text/plain")], from: input
                ) { chunk in lines.feed(chunk).allSatisfy(show) }
            } catch {
                throw CLIError(error)
            }
            _ = lines.finish().allSatisfy(show)
            if let failure { throw CLIError(failure) }
        }
    }
}
