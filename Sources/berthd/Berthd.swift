// berthd: the Berth daemon. Chooses the drivers, takes the root lock, and runs the daemon as a ServiceGroup.
import ArgumentParser
import BerthCgroups
import BerthCore
import BerthDaemon
import BerthNetworkBasic
import BerthOS
import BerthStorageOverlay
import BerthStorageVFS
import Glibc
import Logging
import ServiceLifecycle

@main
struct Berthd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd", abstract: "The Berth container engine daemon (Docker Engine API).")

    @Option(help: "Root of persistent state") var root = "/var/lib/berth"
    @Option(name: .customLong("exec-root"), help: "Root of volatile state (sockets, shim state)") var execRoot =
        "/run/berth"
    @Option(
        name: [.customShort("H"), .customLong("host")],
        help: "Daemon socket(s) to listen on: unix://PATH or tcp://ADDR:PORT")
    var hosts: [String] = []
    @Option(name: .customLong("storage-driver"), help: "Storage driver: overlay or vfs") var storageDriver = "overlay"
    @Option(name: .customLong("log-level"), help: "Log level: debug, info, warn, error") var logLevel = "info"
    @Option(
        name: .customLong("cgroup-favordynmods"),
        help:
            "On cgroup v1/hybrid hosts, remount the cgroup2 mount with favordynmods so that moving a container into its cgroups does not wait for an RCU grace period (true|false)"
    )
    var favorDynmods = true

    func run() async throws {
        setlocale(LC_ALL, "C.UTF-8")
        let level: Logger.Level
        switch logLevel {
        case "debug": level = .debug
        case "info": level = .info
        case "warn", "warning": level = .warning
        case "error": level = .error
        case "fatal": level = .critical
        default: throw ValidationError("invalid log level \(logLevel): expected debug, info, warn, error or fatal")
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "berthd")
        var config = DaemonConfiguration()
        config.root = root
        config.execRoot = execRoot
        config.hosts = hosts
        config.storageDriver = storageDriver
        config.logLevel = logLevel
        config.shimPath = Self.siblingExecutable("berth-shim")
        for host in hosts where !(host.hasPrefix("unix://") || host.hasPrefix("tcp://")) {
            throw ValidationError("invalid host \(host): expected unix://PATH or tcp://ADDR:PORT")
        }
        do {
            try FileSystem.createDirectory(root, mode: 0o711)
            try FileSystem.createDirectory(execRoot, mode: 0o711)
            try Self.lockRoot(root)
            for host in hosts.isEmpty ? [config.defaultHost] : hosts where host.hasPrefix("unix://") {
                try Self.checkSocketFree(String(host.dropFirst(7)))
            }
            let storage: any StorageDriver
            switch storageDriver {
            case "overlay", "overlay2":
                storage = try OverlayDriver(home: root + "/storage/overlay", backgroundCleanup: true)
            case "vfs": storage = try VFSDriver(home: root + "/storage/vfs", backgroundCleanup: true)
            default:
                throw BerthError.invalidArgument("unknown storage driver \(storageDriver) (available: overlay, vfs)")
            }
            config.storageDriver = storage.name
            if favorDynmods, let note = Cgroups.enableFavorDynmods() { logger.info("\(note)") }
            let daemon = try Daemon(
                configuration: config, storage: storage,
                networks: ["none": NoneNetworkDriver(), "host": HostNetworkDriver()], logger: logger)
            logger.info("berthd starting", metadata: ["root": "\(root)", "driver": "\(storage.name)"])
            let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        } catch let error as BerthError {
            var err = StandardError()
            print("berthd: \(error.message)", to: &err)
            Glibc.exit(1)
        }
    }

    /// `berth-shim` installed next to `berthd`.
    static func siblingExecutable(_ name: String) -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "/usr/local/bin/" + name }
        return FileSystem.parent(of: String(nulTerminated: buf)) + "/" + name
    }

    /// One daemon per root: an exclusive lock held for the daemon's life.
    static func lockRoot(_ root: String) throws(BerthError) {
        let path = root + "/berthd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Syscall.error("open \(path)", errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let pid = (try? FileSystem.readText(path))?.trimmingSpaces ?? "?"
            throw BerthError(.conflict, "another berthd (pid \(pid)) is already using the root \(root)")
        }
        _ = ftruncate(fd, 0)
        let text = Array(String(getpid()).utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // The fd stays open (and locked) until the process exits.
    }

    /// Refuses a socket path that another live daemon answers on; a stale file is replaced.
    static func checkSocketFree(_ path: String) throws(BerthError) {
        guard FileSystem.exists(path) else { return }
        // A socket file nobody answers on is stale (a daemon that was killed) and is replaced.
        guard let fd = try? UnixSocket.connect(path) else { return }
        close(fd)
        throw BerthError(.conflict, "another daemon is already listening on \(path)")
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
