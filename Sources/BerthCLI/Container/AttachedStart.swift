import BerthAPIClient
import BerthCore
import Glibc

/// Starts a container with its streams attached, in the docker CLI's order (`run` without `-d`, `start -a`):
/// attach (hijack) → `wait?condition=…` (headers only) → start → pump the stream → read the wait body.
///
/// The wait is opened before the start so a fast exit cannot be missed; the daemon sends its headers at once
/// and the body (`{"StatusCode":N}`) when the condition is met.
struct AttachedStart {
    let daemon: Daemon
    let id: String
    var tty = false
    var stdin = false
    var stdout = true
    var stderr = true
    /// `next-exit`, or `removed` for `run --rm`.
    var waitCondition = "next-exit"
    var signalProxy = true
    /// `--detach-keys` (empty: the default ctrl-p,ctrl-q).
    var detachKeys = ""
    /// Turns a start failure into the command's error (`run` maps it to 125/126/127).
    var startError: (CLIError) -> CLIError = { $0 }

    /// Runs the container to its end and returns its exit code.
    func run() throws(CLIError) -> Int32 {
        var query: [(String, String)] = []
        if stderr { query.append(("stderr", "1")) }
        if stdin { query.append(("stdin", "1")) }
        if stdout { query.append(("stdout", "1")) }
        query.append(("stream", "1"))
        if !detachKeys.isEmpty { query.append(("detachKeys", detachKeys)) }
        let keys: DetachKeys
        do { keys = try DetachKeys(detachKeys) } catch { throw CLIError(error) }
        let attach: Connection
        do { attach = try daemon.client.hijack("POST", "/containers/\(id)/attach", query: query) } catch {
            throw CLIError(error)
        }
        defer { attach.close() }
        let wait: APIClient.OpenResponse
        do {
            wait = try daemon.client.open("POST", "/containers/\(id)/wait", query: [("condition", waitCondition)])
        } catch {
            throw CLIError(error)
        }
        let started = try daemon.call("POST", "/containers/\(id)/start")
        do { try APIClient.check(started.status, started.body) } catch {
            wait.connection.close()
            throw startError(CLIError(error))
        }

        let end = try Self.pump(
            daemon: daemon, id: id, connection: attach, tty: tty, stdin: stdin, signalProxy: signalProxy,
            detachKeys: keys)
        if end == .detached {
            wait.connection.close()
            return 0
        }

        let body: [UInt8]
        do { body = try wait.readAll() } catch { throw CLIError(error) }
        return try Self.exitCode(fromWaitBody: body)
    }

    /// Copies the attached streams; with a TTY in raw mode, following the window's size. Shared by `run`,
    /// `start -a` and `attach`.
    /// `resizePath`: where window sizes go (`/exec/ID/resize` for an exec; the container's by default).
    static func pump(
        daemon: Daemon, id: String, connection: Connection, tty: Bool, stdin: Bool, signalProxy: Bool,
        detachKeys: DetachKeys, resizePath: String? = nil
    ) throws(CLIError) -> AttachSession.End {
        let raw = tty && stdin ? Terminal.makeRaw(0) : nil
        defer { raw?.restore() }
        func resize() {
            guard let size = Terminal.size(1) ?? Terminal.size(0) else { return }
            _ = try? daemon.call(
                "POST", resizePath ?? "/containers/\(id)/resize",
                query: [("h", String(size.rows)), ("w", String(size.cols))])
        }
        let proxy = tty ? SignalProxy.install([SIGWINCH]) : signalProxy ? SignalProxy.install() : nil
        if tty { resize() }
        var session = AttachSession(connection: connection, tty: tty, forwardStdin: stdin)
        session.detachKeys = detachKeys
        return try session.pump(signals: proxy) { signal in
            if signal == SIGWINCH {
                resize()
            } else {
                _ = try? daemon.call("POST", "/containers/\(id)/kill", query: [("signal", String(signal))])
            }
        }
    }

    /// The `StatusCode` of a wait answer; its `Error.Message`, if any, is reported.
    static func exitCode(fromWaitBody body: [UInt8]) throws(CLIError) -> Int32 {
        guard let value = try? JSONValue.parse(bytes: body.filter { $0 != 10 && $0 != 13 }),
            let code = value["StatusCode"]?.intValue
        else {
            throw CLIError("error waiting for container: unexpected EOF", exitCode: 125)
        }
        if let message = value["Error"]?["Message"]?.stringValue, !message.isEmpty {
            throw CLIError("error waiting for container: \(message)", exitCode: 125)
        }
        return Int32(truncatingIfNeeded: code)
    }
}
