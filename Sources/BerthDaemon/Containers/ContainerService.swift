import BerthCore
import BerthImage
import BerthLua
import BerthNetworkBridge
import BerthOS
import BerthRuntime
import Glibc
import Logging
import Synchronization

/// Owns every container: records, live shim sessions, waiters. All state changes go through this actor and
/// are persisted atomically before they are reported.
actor ContainerService {
    struct Runtime {
        var session: ShimSession?
        let output = OutputHub()
        /// Set while `start` waits for the shim, so an exit that races the start is kept for it.
        var starting = false
        var pendingExit: ShimSession.Event?
        /// The restart policy's next back-off (Docker's: 100 ms, doubled at each restart, at most a minute, back
        /// to 100 ms after a run of 10 s), and the restart it scheduled.
        var restartDelay: Double = 0.1
        var restartTask: Task<Void, Never>?
    }

    struct Waiter {
        let condition: String
        let ticket: WaitTicket
    }

    let configuration: DaemonConfiguration
    let images: ImageStore
    let storage: any StorageDriver
    let networks: [String: any NetworkDriver]
    let launcher: ShimLauncher
    let events: EventBus
    let hooks: HookEngine
    let live: LiveSettings
    let dns: DNSServer
    let volumes: VolumeService
    let logger: Logger
    var records: [String: ContainerRecord] = [:]
    /// Names taken by creates in progress (a create awaits hooks and storage before its record exists).
    var reservedNames: Set<String> = []
    /// Bridge networks (the default `bridge` and user networks) by ID, and those set up in this run.
    var networkRecords: [String: NetworkRecord] = [:]
    var networksUp: Set<String> = []
    /// Addresses of plugin networks that use Berth's own IPAM, by network ID (rebuilt from the running
    /// containers after a restart).
    var pluginAddresses: [String: AddressAllocator] = [:]
    /// When this daemon started: the creation time shown for the built-in host and none networks.
    let startedText = Clock.rfc3339Nano(Clock.nowNanos())
    /// Host ports held for running containers' published ports.
    var portReservations: [String: [PortReservation]] = [:]
    /// The nftables state last written (nil: not yet in this run).
    var appliedFirewall: Firewall?
    var runtimes: [String: Runtime] = [:]
    /// `exec` instances by ID.
    var execs: [String: ExecRecord] = [:]
    /// Streams of execs waiting for the exit code to be recorded before they end (`waitForExecExit`).
    var execExitWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Set when the daemon stops: its connections to the shims close, which says nothing about the containers
    /// (they keep running, and the next daemon adopts them).
    var shuttingDown = false
    /// Health of running containers with a health check, and the tasks that probe them.
    var health: [String: HealthState] = [:]
    var healthTasks: [String: Task<Void, Never>] = [:]

    func prepareForShutdown() {
        shuttingDown = true
        for id in runtimes.keys { runtimes[id]?.restartTask?.cancel() }
    }
    var waiters: [String: [Waiter]] = [:]

    init(
        configuration: DaemonConfiguration, images: ImageStore, storage: any StorageDriver,
        networks: [String: any NetworkDriver], launcher: ShimLauncher, events: EventBus, hooks: HookEngine,
        live: LiveSettings, dns: DNSServer, volumes: VolumeService, logger: Logger
    ) {
        self.volumes = volumes
        self.hooks = hooks
        self.live = live
        self.dns = dns
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
        let name = mode.isEmpty || mode == "default" ? live.defaultNetwork : mode
        guard let driver = networks[name] else { return .isolated }
        return driver.sandboxMode(network: NetworkRecord(id: name, name: name, driver: name, created: ""))
    }

    func usesImage(_ imageID: String) -> [ContainerRecord] { records.values.filter { $0.imageID == imageID } }

    // MARK: - Persistence

    func recordDir(_ id: String) -> String { "\(configuration.containersDir)/\(id)" }
    func stateDir(_ id: String) -> String { "\(configuration.stateDir)/\(id)" }
    func logPath(_ id: String) -> String { "\(recordDir(id))/\(id)-json.log" }

    /// Content fsynced, rename not: a crash keeps the previous state or, for a container created just before,
    /// no record (its directory is swept at restart), never a torn file.
    func save(_ record: ContainerRecord, durable: Bool = true) throws(BerthError) {
        try FileSystem.writeFileAtomic(
            "\(recordDir(record.id))/config.v2.json", record.json.serialized, mode: 0o600, durable: durable,
            syncDirectory: false)
        records[record.id] = record
    }

    /// Moves a removed container's directory (config, hosts files, logs) out of the containers directory in one
    /// rename and deletes it in the background; `<root>/tmp` is swept at start-up.
    func discardRecordDir(_ id: String) {
        let trash = "\(configuration.root)/tmp/removed-\(id)"
        if (try? FileSystem.createDirectory(configuration.root + "/tmp", mode: 0o700)) != nil,
            Glibc.rename(recordDir(id), trash) == 0
        {
            FileSystem.removeTreeInBackground(trash)
        } else {
            try? FileSystem.removeTree(recordDir(id))
        }
    }

    /// Saves a record on a teardown path: logs instead of throwing.
    func saveQuietly(_ record: ContainerRecord, durable: Bool = true) {
        do { try save(record, durable: durable) } catch {
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

    /// Registers a wait for `condition` (`not-running`, `next-exit`, `removed`) on the container `ref`, in one
    /// step with the lookup: an exit (or removal) that comes right after this call is never missed, which is
    /// what `docker run` relies on when it starts the container as soon as the wait's headers arrive.
    func registerWait(_ ref: String, condition: String) throws(BerthError) -> WaitTicket {
        let record = try lookup(ref)
        let ticket = WaitTicket()
        if condition == "not-running", !record.isRunning {
            ticket.resolve(record.exitCode)
        } else {
            waiters[record.id, default: []].append(Waiter(condition: condition, ticket: ticket))
        }
        return ticket
    }

    func resumeWaiters(_ id: String, removed: Bool, code: Int32) {
        let list = waiters[id] ?? []
        var keep: [Waiter] = []
        for w in list {
            if w.condition == "removed" && !removed {
                keep.append(w)
            } else {
                w.ticket.resolve(code)
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

/// A registered wait: resolved once with the exit code; `value` may be awaited before or after that.
final class WaitTicket: Sendable {
    private enum State {
        case pending(CheckedContinuation<Int32, Never>?)
        case resolved(Int32)
    }
    private let state = Mutex<State>(.pending(nil))

    func resolve(_ code: Int32) {
        let waiting: CheckedContinuation<Int32, Never>? = state.withLock { s in
            guard case .pending(let c) = s else { return nil }
            s = .resolved(code)
            return c
        }
        waiting?.resume(returning: code)
    }

    var value: Int32 {
        get async {
            await withCheckedContinuation { (c: CheckedContinuation<Int32, Never>) in
                let ready: Int32? = state.withLock { s in
                    if case .resolved(let code) = s { return code }
                    s = .pending(c)
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        }
    }
}
