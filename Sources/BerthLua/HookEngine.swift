import BerthCore
import BerthOS
import CLua
import Glibc
import Logging
import Synchronization

/// A loaded script as `info` and `berth system hooks` show it.
public struct HookScriptInfo: Sendable, Equatable {
    public let name: String
    public let events: [String]

    public init(name: String, events: [String]) {
        self.name = name
        self.events = events
    }
}

/// What the `create` hooks asked for, accumulated over the scripts in order.
public struct HookChanges: Sendable, Equatable {
    public var labels: [String: String] = [:]
    /// `KEY=VALUE` entries, added after (and so overriding) the container's own.
    public var env: [String] = []
    /// Docker `-v` syntax: `/host:/container[:ro|rw]`.
    public var mounts: [String] = []
    public var memory: Int64?
    public var cpus: Double?
    public var pids: Int64?
    /// The scripts that changed something, in order.
    public var scripts: [String] = []

    public init() {}
    public var isEmpty: Bool { scripts.isEmpty }
}

/// The result of running the hooks of one event.
public enum HookOutcome: Sendable {
    case proceed(HookChanges)
    /// A script refused the operation (`return berth.refuse(reason)`).
    case refused(script: String, reason: String)
    /// A script failed (error, limit, bad result) on an event that can refuse, which fails the operation.
    case failed(script: String, message: String)

    /// The API error for a refusal or a failure, nil to proceed.
    public func error(_ event: HookEvent) -> BerthError? {
        switch self {
        case .proceed: return nil
        case .refused(let script, let reason):
            return BerthError(.forbidden, "hook \(script) refused \(event.rawValue): \(reason)")
        case .failed(let script, let message):
            return BerthError(.internalError, "hook \(script) failed in \(event.rawValue): \(message)")
        }
    }
}

/// Loads hook scripts and runs them on one dedicated thread, so a slow hook never holds a Swift concurrency
/// thread (or the API's event loops); events run in the order they were raised. Observe-only events are
/// queued and not awaited.
public final class HookEngine: Sendable {
    private struct State {
        var infos: [HookScriptInfo] = []
        var handled: Set<HookEvent> = []
        var settings = EngineConfiguration.Hooks()
    }
    private let state = Mutex(State())
    private let thread: HookThread
    private let logger: Logger
    private let version: String

    public init(logger: Logger, version: String) {
        self.logger = logger
        self.version = version
        thread = HookThread()
    }

    deinit { thread.stop() }

    /// The loaded scripts, in the order they run.
    public var scripts: [HookScriptInfo] { state.withLock { $0.infos } }

    /// Whether any loaded script handles `event` (to skip building the object when none does).
    public func handles(_ event: HookEvent) -> Bool { state.withLock { $0.handled.contains(event) } }

    /// Loads every `*.lua` in `settings.dir` in name order, replacing the loaded scripts only if all of them
    /// load; otherwise throws (naming the script and line) and keeps the old ones. Key-value stores are
    /// carried over by script name. `config` is what scripts read as `berth.config`.
    @discardableResult
    public func load(settings: EngineConfiguration.Hooks, config: JSONValue) async throws(BerthError)
        -> [HookScriptInfo]
    {
        let files: [(String, String)]
        do { files = try Self.scriptFiles(settings.dir) } catch {
            throw BerthError(error.code, "hooks directory \(settings.dir): \(error.message)")
        }
        let version = self.version
        let result: Result<[HookScriptInfo], BerthError> = await thread.run { box in
            var sources: [(String, String, LuaPermissions)] = []
            for (name, path) in files {
                do throws(BerthError) {
                    let source = String(decoding: try FileSystem.readFile(path), as: UTF8.self)
                    let grants = settings.scripts[name] ?? EngineConfiguration.ScriptPermissions()
                    sources.append((name, source, LuaPermissions(io: grants.io, exec: grants.exec)))
                } catch {
                    return .failure(BerthError(error.code, "hook \(path): \(error.message)"))
                }
            }
            let loaded: HookScripts
            do throws(LuaError) {
                loaded = try HookScripts(
                    anyIO: sources.contains { $0.2.io }, anyExec: sources.contains { $0.2.exec },
                    memoryLimit: Int(settings.memoryLimitMiB) << 20 * max(1, sources.count),
                    host: .object([("version", .string(version)), ("config", config)]))
                if let old = box.scripts { loaded.importStores(old.exportStores()) }
            } catch {
                return .failure(BerthError(.internalError, "hooks: \(error.message)"))
            }
            for (i, (name, _, permissions)) in sources.enumerated() {
                do throws(LuaError) {
                    try loaded.add(
                        name: name, source: sources[i].1, permissions: permissions, limit: Self.limits(settings))
                } catch {
                    return .failure(BerthError(.invalidArgument, "hook \(files[i].1): \(error.message)"))
                }
            }
            box.scripts = loaded
            box.settings = settings
            return .success(
                loaded.scripts.map { s in
                    HookScriptInfo(
                        name: s.name, events: HookEvent.allCases.filter { s.handlers[$0] != nil }.map(\.rawValue))
                })
        }
        let infos = try result.get()
        state.withLock {
            $0.infos = infos
            $0.handled = Set(infos.flatMap { $0.events.compactMap(HookEvent.init(rawValue:)) })
            $0.settings = settings
        }
        return infos
    }

    static func limits(_ s: EngineConfiguration.Hooks) -> LuaLimits {
        LuaLimits(instructions: s.instructionLimit, timeoutMilliseconds: s.timeoutMilliseconds)
    }

    /// `*.lua` regular files in `dir`, sorted by name; none when the directory does not exist.
    static func scriptFiles(_ dir: String) throws(BerthError) -> [(String, String)] {
        guard FileSystem.exists(dir) else { return [] }
        return try FileSystem.list(dir).filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }.sorted()
            .map { ($0, dir + "/" + $0) }
            .filter { !FileSystem.isDirectory($0.1) }
    }

    /// Runs the hooks of an event that can change or refuse, and waits for them. Each script sees the
    /// object with the changes of the scripts before it.
    public func run(_ event: HookEvent, _ object: JSONValue) async -> HookOutcome {
        guard handles(event) else { return .proceed(HookChanges()) }
        let logger = self.logger
        let queued = Clock.nowNanos()
        let (outcome, picked, done): (HookOutcome, Int64, Int64) = await thread.run { box in
            let picked = Clock.nowNanos()
            let outcome = Self.runScripts(box, event, object, logger: logger)
            return (outcome, picked, Clock.nowNanos())
        }
        // What the event added to the request: waiting for the hook thread, running the scripts, and coming
        // back (bench/hooks-bench.sh reads it).
        let now = Clock.nowNanos()
        logger.debug(
            "hooks ran",
            metadata: [
                "event": "\(event.rawValue)", "micros": "\((now - queued) / 1000)",
                "wake": "\((picked - queued) / 1000)", "work": "\((done - picked) / 1000)",
                "back": "\((now - done) / 1000)",
            ])
        return outcome
    }

    static func runScripts(_ box: HookThread.Box, _ event: HookEvent, _ object: JSONValue, logger: Logger)
        -> HookOutcome
    {
        guard let vm = box.scripts else { return .proceed(HookChanges()) }
        defer { Self.emit(vm.drainLogs(), event: event, logger: logger) }
        var object = object
        var changes = HookChanges()
        var frozen = vm.begin(object)
        defer { vm.end(frozen) }
        for script in vm.scripts where script.handlers[event] != nil {
            let verdict: HookScripts.Verdict?
            do throws(LuaError) {
                verdict = try vm.call(script, event, frozen, limit: Self.limits(box.settings))
            } catch {
                return .failed(script: script.name, message: error.message)
            }
            switch verdict {
            case .none: continue
            case .refused(let reason): return .refused(script: script.name, reason: reason)
            case .proceed(let value):
                guard let value, !value.isNull, event.canChange else { continue }
                do throws(BerthError) {
                    try Self.apply(value, to: &changes, object: &object, script: script.name)
                } catch {
                    return .failed(script: script.name, message: error.message)
                }
                // The next scripts see the changes.
                vm.end(frozen)
                frozen = vm.begin(object)
            }
        }
        return .proceed(changes)
    }

    /// Queues the hooks of an observe-only event; errors and limits are logged, never returned.
    public func notify(_ event: HookEvent, _ object: JSONValue) {
        guard handles(event) else { return }
        let logger = self.logger
        thread.submit { box in
            let started = Clock.nowNanos()
            defer {
                logger.debug(
                    "hooks ran",
                    metadata: [
                        "event": "\(event.rawValue)", "micros": "\((Clock.nowNanos() - started) / 1000)",
                        "observe": "true",
                    ])
            }
            guard let vm = box.scripts else { return }
            defer { Self.emit(vm.drainLogs(), event: event, logger: logger) }
            let frozen = vm.begin(object)
            defer { vm.end(frozen) }
            for script in vm.scripts where script.handlers[event] != nil {
                do throws(LuaError) {
                    if case .refused(let reason) = try vm.call(script, event, frozen, limit: Self.limits(box.settings))
                    {
                        logger.warning(
                            "hook refusal ignored: \(event.rawValue) cannot be refused",
                            metadata: ["script": "\(script.name)", "reason": "\(reason)"])
                    }
                } catch {
                    logger.error(
                        "hook failed",
                        metadata: [
                            "script": "\(script.name)", "event": "\(event.rawValue)", "error": "\(error.message)",
                        ])
                }
            }
        }
    }

    /// Waits until every queued event has run (tests, shutdown).
    public func drain() async {
        _ = await thread.run { _ in true }
    }

    static func emit(_ logs: [JSONValue], event: HookEvent, logger: Logger) {
        for entry in logs {
            let script = entry["script"]?.stringValue ?? ""
            var metadata: Logger.Metadata = ["script": "\(script)", "event": "\(event.rawValue)"]
            for (k, v) in entry["fields"]?.objectMembers ?? [] { metadata[k] = "\(v.stringValue ?? v.serialized)" }
            let message = Logger.Message(stringLiteral: entry["msg"]?.stringValue ?? "")
            switch entry["level"]?.stringValue {
            case "debug": logger.debug(message, metadata: metadata)
            case "warn": logger.warning(message, metadata: metadata)
            case "error": logger.error(message, metadata: metadata)
            default: logger.info(message, metadata: metadata)
            }
        }
    }

    // MARK: - Changes

    /// Validates a `create` hook's result and applies it to the accumulated changes and to the object the
    /// next script sees.
    static func apply(_ value: JSONValue, to changes: inout HookChanges, object: inout JSONValue, script: String)
        throws(BerthError)
    {
        let allowed = ["labels", "env", "mounts", "memory", "cpus", "pids"]
        guard case .object(let members) = value else {
            if case .array(let a) = value, a.isEmpty { return }
            throw .invalidArgument("create must return a table of changes (labels, env, mounts, memory, cpus, pids)")
        }
        var changed = false
        for (key, v) in members {
            switch key {
            case "labels":
                guard case .object(let m) = v else { throw .invalidArgument("labels: expected a table of strings") }
                var labels = object["labels"]?.objectMembers ?? []
                for (k, lv) in m {
                    guard let s = lv.stringValue ?? scalarText(lv) else {
                        throw .invalidArgument("labels.\(k): expected a string")
                    }
                    changes.labels[k] = s
                    labels.removeAll { $0.0 == k }
                    labels.append((k, .string(s)))
                }
                object["labels"] = .object(labels)
            case "env":
                var entries: [String] = []
                switch v {
                case .array(let items):
                    for item in items {
                        guard let s = item.stringValue, let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                            throw .invalidArgument("env: expected \"KEY=VALUE\" strings")
                        }
                        entries.append(s)
                    }
                case .object(let m):
                    for (k, ev) in m {
                        guard let s = ev.stringValue ?? scalarText(ev) else {
                            throw .invalidArgument("env.\(k): expected a string")
                        }
                        entries.append("\(k)=\(s)")
                    }
                default: throw .invalidArgument("env: expected a list of \"KEY=VALUE\" or a table")
                }
                changes.env += entries
                var env = object["env"]?.stringArray ?? []
                for e in entries {
                    let k = e.split(separator: "=", maxSplits: 1).first.map(String.init) ?? e
                    env.removeAll { $0.hasPrefix(k + "=") || $0 == k }
                    env.append(e)
                }
                object["env"] = .strings(env)
            case "mounts":
                guard let items = v.arrayValue ?? (v.objectMembers.isEmpty ? [] : nil) else {
                    throw .invalidArgument("mounts: expected a list of \"/host:/container[:ro]\"")
                }
                var mounts = object["mounts"]?.arrayValue ?? []
                for item in items {
                    guard let s = item.stringValue else {
                        throw .invalidArgument("mounts: expected \"/host:/container[:ro]\" strings")
                    }
                    let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count == 2 || parts.count == 3, parts[0].hasPrefix("/"), parts[1].hasPrefix("/"),
                        parts.count == 2 || parts[2] == "ro" || parts[2] == "rw"
                    else {
                        throw .invalidArgument("mounts: \"\(s)\" is not /host:/container[:ro|rw]")
                    }
                    changes.mounts.append(s)
                    mounts.append(
                        .object([
                            ("type", .string("bind")), ("source", .string(parts[0])),
                            ("destination", .string(parts[1])), ("rw", .bool(parts.count == 2 || parts[2] == "rw")),
                        ]))
                }
                object["mounts"] = .array(mounts)
            case "memory":
                let bytes: Int64
                if let n = v.int64Value {
                    bytes = n
                } else if let s = v.stringValue {
                    bytes = try ByteSize.parse(s)
                } else {
                    throw .invalidArgument("memory: expected bytes or a size such as \"256m\"")
                }
                guard bytes >= 6 * 1024 * 1024 else {
                    throw .invalidArgument("memory: \(bytes) bytes is below the minimum of 6 MiB")
                }
                changes.memory = bytes
                object["limits"] = setting(object["limits"], "memory", .integer(bytes))
            case "cpus":
                guard let c = v.doubleValue, c > 0, c <= 1024 else {
                    throw .invalidArgument("cpus: expected a positive number")
                }
                changes.cpus = c
                object["limits"] = setting(object["limits"], "cpus", .number(c))
            case "pids":
                guard let p = v.int64Value, p > 0 else { throw .invalidArgument("pids: expected a positive integer") }
                changes.pids = p
                object["limits"] = setting(object["limits"], "pids", .integer(p))
            default:
                var message = "unknown change \"\(key)\""
                if let s = ConfigFile.suggestion(for: key, among: allowed) { message += " (did you mean \"\(s)\"?)" }
                throw .invalidArgument(message + "; changes: " + allowed.joined(separator: ", "))
            }
            changed = true
        }
        if changed, changes.scripts.last != script { changes.scripts.append(script) }
    }

    static func scalarText(_ v: JSONValue) -> String? {
        switch v {
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    static func setting(_ table: JSONValue?, _ key: String, _ value: JSONValue) -> JSONValue {
        var t = table ?? .object([])
        if t.isNull { t = .object([]) }
        t[key] = value
        return t
    }
}

/// The hook engine's thread and its FIFO of jobs. The scripts live in `Box`, touched only on this thread.
final class HookThread: @unchecked Sendable {
    final class Box {
        var scripts: HookScripts?
        var settings = EngineConfiguration.Hooks()
    }

    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var jobs: [@Sendable (Box) -> Void] = []
    private var head = 0
    private var stopped = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        let box = Box()
        let unmanaged = Unmanaged.passRetained(ThreadStart(thread: self, box: box))
        var tid = pthread_t()
        pthread_create(
            &tid, nil,
            { arg in
                guard let arg else { return nil }
                let start = Unmanaged<ThreadStart>.fromOpaque(arg).takeRetainedValue()
                berth_lua_name_thread("berth-hooks")
                start.thread.loop(start.box)
                return nil
            }, unmanaged.toOpaque())
        pthread_detach(tid)
    }

    final class ThreadStart {
        let thread: HookThread
        let box: Box
        init(thread: HookThread, box: Box) {
            self.thread = thread
            self.box = box
        }
    }

    private func loop(_ box: Box) {
        while true {
            pthread_mutex_lock(&mutex)
            while head == jobs.count && !stopped { pthread_cond_wait(&cond, &mutex) }
            if head == jobs.count && stopped {
                pthread_mutex_unlock(&mutex)
                return
            }
            let job = jobs[head]
            head += 1
            if head > 64, head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(&mutex)
            job(box)
        }
    }

    /// Ends the thread once the queued jobs have run.
    func stop() {
        pthread_mutex_lock(&mutex)
        stopped = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    func submit(_ job: @escaping @Sendable (Box) -> Void) {
        pthread_mutex_lock(&mutex)
        jobs.append(job)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    func run<T: Sendable>(_ job: @escaping @Sendable (Box) -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            submit { box in c.resume(returning: job(box)) }
        }
    }
}
