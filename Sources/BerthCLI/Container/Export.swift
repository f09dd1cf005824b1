import ArgumentParser
import Glibc

extension Berth {
    /// `berth export`: the container's filesystem as a tar, to `-o FILE` or to stdout (never to a terminal).
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a container's filesystem as a tar archive.",
            usage: "berth export [OPTIONS] CONTAINER"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Write to a file, instead of STDOUT.", valueName: "string"))
        var output: String?

        @Argument(help: ArgumentHelp("The container to export.", valueName: "container"))
        var container: String

        func run() throws {
            guard let output else {
                if Output.isTerminal(1) {
                    throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
                }
                try copy(to: 1)
                return
            }
            // Written beside the target and renamed at the end, so a failed export leaves no partial file.
            let temporary = output + ".berth-export-\(getpid())"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CLIError(
                    "failed to export container: open \(output): \(String(cString: strerror(errno)).lowercased())")
            }
            do {
                try copy(to: fd)
            } catch {
                close(fd)
                unlink(temporary)
                throw error
            }
            close(fd)
            guard rename(temporary, output) == 0 else {
                unlink(temporary)
                throw CLIError("failed to export container: rename: \(String(cString: strerror(errno)).lowercased())")
            }
        }

        private func copy(to fd: Int32) throws(CLIError) {
            var writeFailed = false
            try berth.daemon.stream("GET", "/containers/\(Daemon.escape(container))/export") { chunk in
                writeFailed = !Output.write(fd, chunk)
                return !writeFailed
            }
            if writeFailed {
                throw CLIError("failed to export container: write: \(String(cString: strerror(errno)).lowercased())")
            }
        }
    }
}
