import ArgumentParser
import BerthCore

extension Berth {
    /// `berth run`: create a container, then start it attached (or detached with `-d`).
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Create and run a new container from an image.",
            usage: "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]",
            helpNames: [.long]
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Run container in background and print container ID.")
        var detach = false

        @Option(
            name: .customLong("sig-proxy"),
            help: ArgumentHelp("Proxy received signals to the process.", valueName: "bool"))
        var sigProxy = true

        @Option(
            name: .customLong("detach-keys"),
            help: ArgumentHelp("Override the key sequence for detaching a container.", valueName: "string"))
        var detachKeys = ""

        @OptionGroup var options: ContainerOptions

        func run() throws {
            // `--help` arrives here when it follows other flags: the image-and-command capture takes it.
            if options.imageAndCommand.first == "--help" {
                Output.out(Berth.helpMessage(for: Self.self) + "\n")
                return
            }
            var request = try options.createRequest(command: "run", detach: detach)
            // The container's terminal starts with the size of ours, as with the docker CLI.
            if options.tty, !detach, let size = Terminal.size(1) {
                request.body["HostConfig"]?["ConsoleSize"] = .array([.int(size.rows), .int(size.cols)])
            }
            if detach, !options.attach.isEmpty { throw CLIError("Conflicting options: -a and -d").withHelp("run") }
            let daemon = berth.daemon
            let id = try ContainerCreator(daemon: daemon, command: "run").create(request, pull: options.pull)
            if detach {
                do { try daemon.checked("POST", "/containers/\(id)/start") } catch { throw Self.startError(error) }
                Output.line(id)
                return
            }
            let config = request.body
            var session = AttachedStart(daemon: daemon, id: id)
            session.tty = options.tty
            session.stdin = config["AttachStdin"]?.boolValue ?? false
            session.stdout = config["AttachStdout"]?.boolValue ?? true
            session.stderr = config["AttachStderr"]?.boolValue ?? true
            session.waitCondition = options.autoRemove ? "removed" : "next-exit"
            session.signalProxy = sigProxy
            session.detachKeys = detachKeys
            session.startError = Self.startError
            let code = try session.run()
            if code != 0 { throw ExitCode(code) }
        }

        /// A start failure, with the docker CLI's exit codes: 127 when the command is missing, 126 when it cannot
        /// be executed, 125 otherwise.
        static func startError(_ error: CLIError) -> CLIError {
            let text = error.message
            var code: Int32 = 125
            if text.contains("executable file not found") || text.contains("no such file or directory") {
                code = 127
            } else if text.contains("permission denied") || text.contains("is a directory") {
                code = 126
            }
            return error.withHelp("run", exitCode: code)
        }
    }
}
