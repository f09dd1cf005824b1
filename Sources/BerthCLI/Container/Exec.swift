import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth exec`: run a command in a running container, as `docker exec` does (create, start hijacked or
    /// detached, then the exit code from the exec's inspect).
    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Execute a command in a running container.",
            usage: "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Detached mode: run command in the background.")
        var detach = false

        @Option(
            name: .customLong("detach-keys"),
            help: ArgumentHelp("Override the key sequence for detaching a container.", valueName: "string"))
        var detachKeys = ""

        @Option(name: .shortAndLong, help: ArgumentHelp("Set environment variables.", valueName: "list"))
        var env: [String] = []

        @Option(
            name: .customLong("env-file"),
            help: ArgumentHelp("Read in a file of environment variables.", valueName: "list"))
        var envFile: [String] = []

        @Flag(name: .shortAndLong, help: "Keep STDIN open even if not attached.")
        var interactive = false

        @Flag(help: "Give extended privileges to the command.")
        var privileged = false

        @Flag(name: .shortAndLong, help: "Allocate a pseudo-TTY.")
        var tty = false

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Username or UID (format: \"<name|uid>[:<group|gid>]\").", valueName: "string"))
        var user = ""

        @Option(name: .shortAndLong, help: ArgumentHelp("Working directory inside the container.", valueName: "string"))
        var workdir = ""

        @Argument(
            parsing: .captureForPassthrough,
            help: ArgumentHelp("The container and the command.", valueName: "container"))
        var containerAndCommand: [String] = []

        func run() throws {
            let usage = "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]"
            guard containerAndCommand.count >= 2 else {
                throw CLIError("'berth exec' requires at least 2 arguments").asUsage(of: "exec", usage)
            }
            let container = containerAndCommand[0]
            let daemon = berth.daemon
            let environment = try ContainerOptions.environment(
                envFiles: envFile, env: env, lookupEnv: FileInput.environment, readFile: FileInput.read,
                fileError: { CLIError($0).withHelp("exec") },
                flagError: {
                    CLIError.invalidFlag($0, "-e, --env", "invalid environment variable: \($0)").asUsage(
                        of: "exec", usage)
                })
            let info = try daemon.json("GET", "/containers/\(Daemon.escape(container))/json")
            guard let containerID = info["Id"]?.stringValue else { throw CLIError("unexpected answer from the daemon") }
            let keys: DetachKeys
            do { keys = try DetachKeys(detachKeys) } catch { throw CLIError(error) }
            var config: [(String, JSONValue)] = [
                ("User", .string(user)), ("Privileged", .bool(privileged)), ("Tty", .bool(tty)),
                ("AttachStdin", .bool(interactive && !detach)), ("AttachStderr", .bool(!detach)),
                ("AttachStdout", .bool(!detach)), ("Detach", .bool(detach)), ("DetachKeys", .string(detachKeys)),
                ("Env", .strings(environment)), ("WorkingDir", .string(workdir)),
                ("Cmd", .strings(Array(containerAndCommand.dropFirst()))),
            ]
            if tty, let size = Terminal.size(1) {
                config.append(("ConsoleSize", .array([.int(size.rows), .int(size.cols)])))
            }
            let created = try daemon.json(
                "POST", "/containers/\(containerID)/exec", body: JSONValue.object(config))
            guard let execID = created["Id"]?.stringValue else { throw CLIError("unexpected answer from the daemon") }
            let start: JSONValue = .object([("Detach", .bool(detach)), ("Tty", .bool(tty))])
            if detach {
                try daemon.checked("POST", "/exec/\(execID)/start", body: Array(start.serialized.utf8))
                return
            }
            let connection: Connection
            do {
                connection = try daemon.client.hijack(
                    "POST", "/exec/\(execID)/start", body: Array(start.serialized.utf8))
            } catch {
                throw CLIError(error)
            }
            defer { connection.close() }
            let end = try AttachedStart.pump(
                daemon: daemon, id: containerID, connection: connection, tty: tty, stdin: interactive,
                signalProxy: false, detachKeys: keys, resizePath: "/exec/\(execID)/resize")
            if end == .detached { return }
            let result = try daemon.json("GET", "/exec/\(execID)/json")
            if let code = result["ExitCode"]?.intValue, code != 0 { throw ExitCode(Int32(truncatingIfNeeded: code)) }
        }
    }
}
