import BerthAPI
import BerthCore
import BerthOS
import BerthRuntime
import Glibc

/// A process started in a running container with `exec`: made by `POST /containers/{id}/exec`, run by
/// `POST /exec/{id}/start` through `berth-shim` in exec mode, which joins the container's namespaces, root and
/// cgroup and applies its capabilities, seccomp profile and rlimits. Kept until its container stops or is
/// removed, so clients can read its exit code.
struct ExecRecord: Sendable {
    let id: String
    let containerID: String
    var args: [String]
    var env: [String]
    var user: String
    var workingDir: String
    var privileged: Bool
    var tty: Bool
    var attachStdin: Bool
    var attachStdout: Bool
    var attachStderr: Bool
    var detachKeys: String
    var consoleRows = 0
    var consoleCols = 0
    var started = false
    var running = false
    var exitCode: Int32?
    var pid: Int32 = 0
    var session: ShimSession?
    let output = OutputHub()
}

extension ContainerService {
    /// `POST /containers/{id}/exec`.
    func createExec(container ref: String, body: JSONValue) throws(BerthError) -> String {
        let record = try lookup(ref)
        guard record.isRunning, record.pid > 0 else { throw .conflict("container \(record.id) is not running") }
        if record.status == .paused {
            throw .conflict("container \(record.id) is paused, unpause the container before exec")
        }
        let cmd = body["Cmd"]?.stringArray ?? []
        guard !cmd.isEmpty else { throw .invalidArgument("No exec command specified") }
        let keys = body["DetachKeys"]?.stringValue ?? ""
        _ = try DetachKeys(keys)
        var id = Identifier.random()
        while execs[id] != nil { id = Identifier.random() }
        var e = ExecRecord(
            id: id, containerID: record.id, args: cmd, env: body["Env"]?.stringArray ?? [],
            user: body["User"]?.stringValue ?? "", workingDir: body["WorkingDir"]?.stringValue ?? "",
            privileged: body["Privileged"]?.boolValue ?? false, tty: body["Tty"]?.boolValue ?? false,
            attachStdin: body["AttachStdin"]?.boolValue ?? false,
            attachStdout: body["AttachStdout"]?.boolValue ?? false,
            attachStderr: body["AttachStderr"]?.boolValue ?? false, detachKeys: keys)
        if let size = body["ConsoleSize"]?.arrayValue, size.count == 2 {
            e.consoleRows = size[0].intValue ?? 0
            e.consoleCols = size[1].intValue ?? 0
        }
        execs[id] = e
        events.publish(
            type: "container", action: "exec_create: " + cmd.joined(separator: " "), id: record.id,
            attributes: ["execID": id, "name": record.name])
        return id
    }

    func findExec(_ id: String) throws(BerthError) -> ExecRecord {
        guard let e = execs[id] else { throw .notFound("No such exec instance: \(id)") }
        return e
    }

    /// Claims an exec for `POST /exec/{id}/start` (once only) and checks its container still runs.
    func claimExec(_ id: String, tty: Bool?, consoleSize: JSONValue?) throws(BerthError) -> ExecRecord {
        var e = try findExec(id)
        if e.started { throw .conflict("Exec command \(id) is already running") }
        let record = try lookup(e.containerID)
        guard record.isRunning, record.pid > 0 else { throw .conflict("container \(record.id) is not running") }
        if record.status == .paused {
            throw .conflict("container \(record.id) is paused, unpause the container before exec")
        }
        if let tty { e.tty = e.tty || tty }
        if let size = consoleSize?.arrayValue, size.count == 2, let h = size[0].intValue, let w = size[1].intValue,
            h > 0, w > 0
        {
            e.consoleRows = h
            e.consoleCols = w
        }
        e.started = true
        execs[id] = e
        return e
    }

    /// Starts the claimed exec's process. Its output goes to `e.output` (subscribe first to miss nothing).
    func launchExec(_ e: ExecRecord) async throws(BerthError) {
        let record = try lookup(e.containerID)
        let c = record.config
        let h = record.hostConfig
        let state = stateDir(record.id) + "/exec-" + e.id
        var spec = ShimSpec(
            id: e.id, stateDir: state, logPath: "", rootfs: "", rootMounts: [], args: e.args,
            env: Self.mergeEnv(c["Env"]?.stringArray ?? [], e.env),
            cgroupPath: "\(configuration.cgroupParent)/\(record.id)")
        spec.joinPID = record.pid
        spec.cwd =
            e.workingDir.isEmpty
            ? (c["WorkingDir"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "/" : e.workingDir
        spec.user = e.user.isEmpty ? c["User"]?.stringValue ?? "" : e.user
        try Self.applySecurity(&spec, hostConfig: h, privileged: e.privileged || (h["Privileged"]?.boolValue ?? false))
        spec.openStdin = e.attachStdin
        spec.stdinOnce = true
        spec.tty = e.tty
        spec.consoleRows = e.consoleRows
        spec.consoleCols = e.consoleCols
        spec.trace = configuration.logLevel == "debug"
        let id = e.id
        do {
            let (session, pid) = try await launcher.start(spec: spec, output: e.output) { [weak self] event in
                Task { await self?.execEvent(id, event) }
            }
            execs[id]?.session = session
            execs[id]?.pid = pid
            // A fast exec's exit may have been handled while the start was returning.
            if execs[id]?.exitCode == nil { execs[id]?.running = true }
            events.publish(
                type: "container", action: "exec_start: " + e.args.joined(separator: " "), id: record.id,
                attributes: ["execID": id, "name": record.name])
        } catch {
            // As Docker: 127 not found, 126 not executable and every other failure to start the exec.
            let code: Int32 = error.code.name == "start" && error.code.errno == 127 ? 127 : 126
            execs[id]?.exitCode = code
            execs[id]?.running = false
            try? FileSystem.removeTree(state)
            e.output.close()
            throw error
        }
    }

    func execEvent(_ id: String, _ event: ShimSession.Event) {
        guard let e = execs[id] else { return }
        switch event {
        case .exited(let status):
            execs[id]?.exitCode = status.exitCode
        case .failed(let code, _):
            execs[id]?.exitCode = code
        case .lost:
            if e.exitCode == nil { execs[id]?.exitCode = 137 }
        case .started:
            return
        }
        execs[id]?.running = false
        execs[id]?.session = nil
        releaseExecWaiters(id)
        e.session?.close()
        let state = stateDir(e.containerID) + "/exec-" + id
        if configuration.logLevel == "debug", let log = try? FileSystem.readText(state + "/shim.log"), !log.isEmpty {
            logger.debug(
                "exec shim log", metadata: [LogKey.container: "\(e.containerID)", "exec": "\(id)", "log": "\(log)"])
        }
        // Off the actor: the stream waiting for this exit code goes on at once.
        Task.detached { try? FileSystem.removeTree(state) }
        if let record = records[e.containerID] {
            events.publish(
                type: "container", action: "exec_die", id: record.id,
                attributes: ["execID": id, "exitCode": String(execs[id]?.exitCode ?? 0), "name": record.name])
        }
    }

    /// Forgets the execs of a container that stopped or went away.
    func dropExecs(of containerID: String) {
        for (id, e) in execs where e.containerID == containerID {
            e.session?.close()
            execs[id] = nil
            releaseExecWaiters(id)
        }
    }

    /// `POST /exec/{id}/resize`.
    func resizeExec(_ id: String, height: String?, width: String?) throws(BerthError) {
        let e = try findExec(id)
        guard let h = UInt16(height ?? ""), let w = UInt16(width ?? "") else {
            throw .invalidArgument("invalid resize: height and width must be numbers from 0 to 65535")
        }
        guard e.running, let session = e.session else { throw .conflict("Exec \(id) is not running") }
        session.send(ShimMessage.resize, Array("\(h) \(w)".utf8))
    }

    func execSession(_ id: String) -> ShimSession? { execs[id]?.session }

    /// Waits (two seconds at most) until the exec's exit code is recorded.
    func waitForExecExit(_ id: String) async {
        guard let e = execs[id], e.exitCode == nil else { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            execExitWaiters[id, default: []].append(waiter)
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: 2_000_000_000)
                await self?.releaseExecWaiters(id)
            }
        }
    }

    /// Resumes the streams waiting in `waitForExecExit` (each once: the list is taken).
    func releaseExecWaiters(_ id: String) {
        for waiter in execExitWaiters.removeValue(forKey: id) ?? [] { waiter.resume() }
    }

    /// `GET /exec/{id}/json`.
    func execJSON(_ id: String) throws(BerthError) -> JSONValue {
        let e = try findExec(id)
        return .object([
            ("ID", .string(e.id)), ("Running", .bool(e.running)),
            ("ExitCode", e.exitCode.map { .int(Int($0)) } ?? .null),
            (
                "ProcessConfig",
                .object([
                    ("tty", .bool(e.tty)), ("entrypoint", .string(e.args.first ?? "")),
                    ("arguments", .strings(Array(e.args.dropFirst()))), ("privileged", .bool(e.privileged)),
                    ("user", .string(e.user)),
                ])
            ),
            ("OpenStdin", .bool(e.attachStdin)), ("OpenStderr", .bool(e.attachStderr)),
            ("OpenStdout", .bool(e.attachStdout)), ("CanRemove", .bool(false)), ("ContainerID", .string(e.containerID)),
            ("DetachKeys", .string(e.detachKeys)), ("Pid", .int(Int(e.pid))),
        ])
    }

    /// IDs of a container's execs, for inspect's `ExecIDs` (null when there are none, as Docker shows).
    func execIDs(of containerID: String) -> JSONValue {
        let ids = execs.values.filter { $0.containerID == containerID }.map(\.id).sorted()
        return ids.isEmpty ? .null : .strings(ids)
    }

    /// The container's environment with an exec's on top (same variable: the exec's wins).
    static func mergeEnv(_ base: [String], _ extra: [String]) -> [String] {
        var out = base
        for kv in extra {
            let key = kv.split(separator: "=", maxSplits: 1).first.map(String.init) ?? kv
            if let i = out.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) {
                out[i] = kv
            } else {
                out.append(kv)
            }
        }
        return out
    }
}
