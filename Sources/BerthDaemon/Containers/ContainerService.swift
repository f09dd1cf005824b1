import BerthCore
import BerthImage
import BerthOS
import BerthRuntime
import Glibc
import Logging

/// Owns every container: records, live shim sessions, waiters. All state changes go through this actor and
/// are persisted atomically before they are reported.
actor ContainerService {
    struct Runtime {
        var session: ShimSession?
        let output = OutputHub()
        /// Set while `start` waits for the shim, so an exit that races the start is kept for it.
        var starting = false
        var pendingExit: ShimSession.Event?
    }

    struct Waiter {
        let condition: String
        let continuation: CheckedContinuation<Int32, Never>
    }

    let configuration: DaemonConfiguration
    let images: ImageStore
    let storage: any StorageDriver
    let networks: [String: any NetworkDriver]
    let launcher: ShimLauncher
    let events: EventBus
    let logger: Logger
    var records: [String: ContainerRecord] = [:]
    var runtimes: [String: Runtime] = [:]
    var waiters: [String: [Waiter]] = [:]

    init(
        configuration: DaemonConfiguration, images: ImageStore, storage: any StorageDriver,
        networks: [String: any NetworkDriver], launcher: ShimLauncher, events: EventBus, logger: Logger
    ) {
        self.configuration = configuration
        self.images = images
        self.storage = storage
        self.networks = networks
        self.launcher = launcher
        self.events = events
        self.logger = logger
    }

    // MARK: - Lookup

    /// Finds a container by full ID, unique ID prefix, or name (with or without the leading `/`).
    func lookup(_ ref: String) throws(BerthError) -> ContainerRecord {
        if let r = records[ref] { return r }
        let name = ref.hasPrefix("/") ? String(ref.dropFirst()) : ref
        if let r = records.values.first(where: { $0.name == name }) { return r }
        if !ref.isEmpty, ref.allSatisfy(\.isHexDigit) {
            let matches = records.values.filter { $0.id.hasPrefix(ref) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw .invalidArgument("multiple IDs found with provided prefix: \(ref)") }
        }
        throw .notFound("No such container: \(ref)")
    }

    func all() -> [ContainerRecord] { records.values.sorted { $0.created > $1.created } }

    func output(for id: String) -> OutputHub? { runtimes[id]?.output }

    /// How the network driver of `mode` makes a container's network namespace (`none` and `host` are the
    /// built-in networks, named after their drivers).
    func sandboxMode(_ mode: String) -> SandboxMode {
        let name = mode.isEmpty || mode == "default" ? configuration.defaultNetwork : mode
        guard let driver = networks[name] else { return .isolated }
        return driver.sandboxMode(network: NetworkRecord(id: name, name: name, driver: name, created: ""))
    }

    func usesImage(_ imageID: String) -> [ContainerRecord] { records.values.filter { $0.imageID == imageID } }

    // MARK: - Persistence

    func recordDir(_ id: String) -> String { "\(configuration.containersDir)/\(id)" }
    func stateDir(_ id: String) -> String { "\(configuration.stateDir)/\(id)" }
    func logPath(_ id: String) -> String { "\(recordDir(id))/\(id)-json.log" }

    func save(_ record: ContainerRecord) throws(BerthError) {
        try FileSystem.writeFileAtomic("\(recordDir(record.id))/config.v2.json", record.json.serialized, mode: 0o600)
        records[record.id] = record
    }

    /// Saves a record on a teardown path: logs instead of throwing.
    func saveQuietly(_ record: ContainerRecord) {
        do { try save(record) } catch {
            records[record.id] = record
            logger.error(
                "failed to save container",
                metadata: [LogKey.container: "\(record.id)", LogKey.error: "\(error.message)"])
        }
    }

    func emit(_ action: String, _ record: ContainerRecord, extra: [String: String] = [:]) {
        var attributes = record.labels
        attributes["image"] = record.config["Image"]?.stringValue ?? record.imageID
        attributes["name"] = record.name
        for (k, v) in extra { attributes[k] = v }
        events.publish(type: "container", action: action, id: record.id, attributes: attributes)
    }

    // MARK: - Waiting

    /// Waits for `condition` (`not-running`, `next-exit`, `removed`) and returns the exit code.
    func wait(_ id: String, condition: String) async -> Int32 {
        if condition == "not-running", let r = records[id], !r.isRunning { return r.exitCode }
        if condition == "removed", records[id] == nil { return 0 }
        return await withCheckedContinuation { c in
            waiters[id, default: []].append(Waiter(condition: condition, continuation: c))
        }
    }

    func resumeWaiters(_ id: String, removed: Bool, code: Int32) {
        let list = waiters[id] ?? []
        var keep: [Waiter] = []
        for w in list {
            if w.condition == "removed" && !removed {
                keep.append(w)
            } else {
                w.continuation.resume(returning: code)
            }
        }
        waiters[id] = keep.isEmpty ? nil : keep
    }

    /// Polls until the container is no longer running or `seconds` pass. Returns true if it stopped.
    func waitStopped(_ id: String, seconds: Double) async -> Bool {
        let deadline = Clock.nowNanos() + Int64(seconds * 1e9)
        while true {
            guard let r = records[id], r.isRunning else { return true }
            if Clock.nowNanos() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}
