import ArgumentParser
import BerthOS
import Glibc

extension Berth {
    /// `berth registry serve|gc ...`: runs `berth-registry` (installed beside `berth`, else found on PATH), so
    /// the command line stays free of the server's NIO and TLS code.
    struct Registry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry",
            abstract: "Run Berth's private image registry.",
            usage:
                "berth registry serve [--addr HOST:PORT] [--root DIR] [OPTIONS]\n       berth registry gc [--root DIR] [--dry-run] [--delete-untagged]",
            discussion: "Runs berth-registry; `berth registry serve --help` lists its options."
        )

        @Argument(
            parsing: .captureForPassthrough, help: ArgumentHelp("serve or gc, and their options.", valueName: "command")
        )
        var arguments: [String] = []

        func run() throws {
            let program = Self.locate()
            guard let program else {
                throw CLIError("berth-registry not found beside berth or on PATH")
            }
            let argv = [program] + arguments
            var cArgs = argv.map { strdup($0) }
            cArgs.append(nil)
            execv(program, cArgs)
            throw CLIError("cannot run \(program): \(Syscall.describe(errno: errno))")
        }

        /// `berth-registry` in the directory of the running `berth`, else the first on PATH.
        static func locate() -> String? {
            var candidates: [String] = []
            if let me = try? FileSystem.readLink("/proc/self/exe") {
                candidates.append(FileSystem.parent(of: me) + "/berth-registry")
            }
            for dir in (FileInput.environment("PATH") ?? "/usr/local/bin:/usr/bin").split(separator: ":") {
                candidates.append("\(dir)/berth-registry")
            }
            return candidates.first { access($0, X_OK) == 0 }
        }
    }
}
