import ArgumentParser
import BerthAPIClient
import BerthCore
import Glibc

extension Berth {
    /// `berth save`: images to a tar (`docker save` format), to a file or stdout.
    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "save",
            abstract: "Save one or more images to a tar archive (streamed to STDOUT by default).",
            usage: "berth save [OPTIONS] IMAGE [IMAGE...]"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Write to a file, instead of STDOUT.", valueName: "string"))
        var output: String?

        @Argument(help: ArgumentHelp("The images.", valueName: "image"))
        var images: [String]

        func run() throws {
            guard !images.isEmpty else { throw CLIError("\"save\" requires at least 1 argument.") }
            var fd: Int32 = 1
            var tmp: String? = nil
            if let output {
                // Written next to the destination and renamed at the end: a failed save leaves no partial file.
                tmp = output + ".berth-save-\(getpid())"
                fd = open(tmp ?? output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw CLIError("failed to save image: open \(output): \(String(cString: strerror(errno)))")
                }
            } else if Output.isTerminal(1) {
                throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
            }
            var ok = true
            do {
                try berth.daemon.stream("GET", "/images/get", query: images.map { ("names", $0) }) { chunk in
                    ok = Output.write(fd, chunk)
                    return ok
                }
            } catch {
                if let tmp { close(fd); unlink(tmp) }
                throw error
            }
            if let tmp, let output {
                close(fd)
                guard ok, rename(tmp, output) == 0 else {
                    unlink(tmp)
                    throw CLIError("failed to save image: write \(output)")
                }
            }
        }
    }

    /// `berth load`: images from a tar (`docker save` format), from a file or stdin.
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "load",
            abstract: "Load an image from a tar archive or STDIN.",
            usage: "berth load [OPTIONS]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Read from tar archive file, instead of STDIN.", valueName: "string"))
        var input: String?

        @Flag(name: .shortAndLong, help: "Suppress the load output.")
        var quiet = false

        func run() throws {
            var fd: Int32 = 0
            if let input {
                fd = open(input, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw CLIError("open \(input): \(String(cString: strerror(errno)).lowercased())") }
            } else if Output.isTerminal(0) {
                throw CLIError("requested load from stdin, but stdin is empty")
            }
            defer { if fd != 0 { close(fd) } }
            var lines = JSONLines()
            var failure: String? = nil
            func show(_ m: JSONValue) -> Bool {
                if let error = m["errorDetail"]?["message"]?.stringValue ?? m["error"]?.stringValue {
                    failure = error
                    return false
                }
                if !quiet, let text = m["stream"]?.stringValue { Output.out(text) }
                return true
            }
            do {
                try berth.daemon.client.upload(
                    "POST", "/images/load", query: quiet ? [("quiet", "1")] : [],
                    headers: [("Content-Type", "application/x-tar")], from: fd
                ) { chunk in lines.feed(chunk).allSatisfy(show) }
            } catch {
                throw CLIError(error)
            }
            _ = lines.finish().allSatisfy(show)
            if let failure { throw CLIError(failure) }
        }
    }
}
