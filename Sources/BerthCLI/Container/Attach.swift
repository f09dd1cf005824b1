import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth attach`: the local terminal's input, output and signals to a running container, until it exits or
    /// the user detaches (ctrl-p ctrl-q with a TTY).
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Attach local standard input, output, and error streams to a running container.",
            usage: "berth attach [OPTIONS] CONTAINER"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .customLong("detach-keys"),
            help: ArgumentHelp("Override the key sequence for detaching a container.", valueName: "string"))
        var detachKeys = ""

        @Flag(name: .customLong("no-stdin"), help: "Do not attach STDIN.")
        var noStdin = false

        @Option(
            name: .customLong("sig-proxy"),
            help: ArgumentHelp("Proxy all received signals to the process.", valueName: "bool"))
        var sigProxy = true

        @Argument(help: ArgumentHelp("The container to attach to.", valueName: "container"))
        var container: String?

        func run() throws {
            guard let container else { throw CLIError("'berth attach' requires exactly 1 argument").withHelp("attach") }
            let daemon = berth.daemon
            let info = try daemon.json("GET", "/containers/\(Daemon.escape(container))/json")
            guard let id = info["Id"]?.stringValue else { throw CLIError("unexpected answer from the daemon") }
            if info["State"]?["Paused"]?.boolValue == true {
                throw CLIError("You cannot attach to a paused container, unpause it first")
            }
            guard info["State"]?["Running"]?.boolValue == true else {
                throw CLIError("You cannot attach to a stopped container, start it first")
            }
            let tty = info["Config"]?["Tty"]?.boolValue ?? false
            let stdin = !noStdin && (info["Config"]?["OpenStdin"]?.boolValue ?? false)
            let keys: DetachKeys
            do { keys = try DetachKeys(detachKeys) } catch { throw CLIError(error) }
            var query = [("stream", "1"), ("stdout", "1"), ("stderr", "1")]
            if stdin { query.append(("stdin", "1")) }
            if !detachKeys.isEmpty { query.append(("detachKeys", detachKeys)) }
            // The exit code comes from a wait opened before the attach (the stream may close before the daemon
            // has recorded the exit).
            let wait: APIClient.OpenResponse
            do {
                wait = try daemon.client.open("POST", "/containers/\(id)/wait", query: [("condition", "next-exit")])
            } catch {
                throw CLIError(error)
            }
            let connection: Connection
            do { connection = try daemon.client.hijack("POST", "/containers/\(id)/attach", query: query) } catch {
                throw CLIError(error)
            }
            defer { connection.close() }
            let end = try AttachedStart.pump(
                daemon: daemon, id: id, connection: connection, tty: tty, stdin: stdin, signalProxy: sigProxy,
                detachKeys: keys)
            if end == .detached {
                wait.connection.close()
                return
            }
            // The stream ended with the process: exit with its code, as `docker attach` does.
            let body: [UInt8]
            do { body = try wait.readAll() } catch { throw CLIError(error) }
            let code = try AttachedStart.exitCode(fromWaitBody: body)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
