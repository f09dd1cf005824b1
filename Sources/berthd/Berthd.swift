// berthd: the Berth daemon. Chooses the drivers, takes the root lock, and runs the daemon as a ServiceGroup.
import ArgumentParser
import BerthCgroups
import BerthCore
import BerthDaemon
import BerthLua
import BerthNetworkBasic
import BerthNetworkBridge
import BerthOS
import BerthPlugins
import BerthStorageOverlay
import BerthStorageVFS
import Glibc
import Logging
import ServiceLifecycle

@main
struct Berthd: AsyncParsableCommand {
    /// `berthd --in-container ...` (the daemon's own helper for `docker cp`) runs before anything else, while
    /// the process still has one thread.
    static func main() async {
        if let code = ContainerFiles.runIfAsked(CommandLine.arguments) { Glibc.exit(code) }
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "berthd", abstract: "The Berth container engine daemon (Docker Engine API).")

    @Option(help: "Configuration file (Lua); a missing default file means the built-in defaults")
    var config = Self.defaultConfigFile
    @Option(help: "Root of persistent state (default /var/lib/berth)") var root: String?
    @Option(name: .customLong("exec-root"), help: "Root of volatile state: sockets, shim state (default /run/berth)")
    var execRoot: String?
    @Option(
        name: [.customShort("H"), .customLong("host")],
        help: "Daemon socket(s) to listen on: unix://PATH or tcp://ADDR:PORT")
    var hosts: [String] = []
    @Option(name: .customLong("storage-driver"), help: "Storage driver: overlay or vfs") var storageDriver: String?
    @Option(name: .customLong("default-network"), help: "Network of containers that name none: none or host")
    var defaultNetwork: String?
    @Option(name: .customLong("hooks-dir"), help: "Directory of Lua hook scripts") var hooksDir: String?
    @Option(
        name: .customLong("insecure-registry"),
        help: "A registry (HOST:PORT) that may use plain HTTP (repeatable; loopback ones may anyway)")
    var insecureRegistries: [String] = []
    @Option(name: .customLong("bridge"), help: "Interface of the default bridge network (default berth0)")
    var bridgeName: String?
    @Option(
        name: .customLong("default-address-pool"),
        help: "Subnets for networks without --subnet: base=172.30.0.0/16,size=24 (repeatable)")
    var addressPools: [String] = []
    @Option(name: .customLong("log-level"), help: "Log level: debug, info, warn, error, fatal") var logLevel: String?
    @Option(
        name: .customLong("cgroup-favordynmods"),
        help:
            "On cgroup v1/hybrid hosts, remount the cgroup2 mount with favordynmods so that moving a container into its cgroups does not wait for an RCU grace period (true|false)"
    )
    var favorDynmods: Bool?

    static let defaultConfigFile = "/etc/berth/config.lua"
    static let storageDrivers = ["overlay", "overlay2", "vfs"]
    static let networkNames = ["none", "host", "bridge"]

    func run() async throws {
        setlocale(LC_ALL, "C.UTF-8")
        var overrides = EngineOverrides()
        overrides.root = root
        overrides.execRoot = execRoot
        overrides.hosts = hosts.isEmpty ? nil : hosts
        overrides.storageDriver = storageDriver
        overrides.defaultNetwork = defaultNetwork
        overrides.logLevel = logLevel
        overrides.cgroupFavorDynmods = favorDynmods
        overrides.hooksDir = hooksDir
        if !insecureRegistries.isEmpty { overrides.insecureRegistries = insecureRegistries }
        overrides.bridgeName = bridgeName
        var pools: [SubnetAllocator.Pool] = []
        for text in addressPools {
            var base: IPv4Subnet?
            var size: Int?
            for field in text.split(separator: ",") {
                let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2, kv[0] == "base" { base = IPv4Subnet(kv[1], strict: true) }
                if kv.count == 2, kv[0] == "size" { size = Int(kv[1]) }
            }
            guard let base, let size, (base.prefixLength...30).contains(size) else {
                Self.fail("--default-address-pool \(text): expected base=a.b.c.d/n,size=m with n <= m <= 30")
            }
            pools.append(SubnetAllocator.Pool(base: base, size: size))
        }
        overrides.pools = pools.isEmpty ? nil : pools
        var config: DaemonConfiguration
        do {
            config = try Self.configuration(file: self.config, overrides: overrides)
        } catch {
            Self.fail(error.message)
        }
        config.shimPath = Self.siblingExecutable("berth-shim")
        DaemonLog.bootstrap(level: DaemonLog.level(named: config.logLevel) ?? .info)
        let logger = Logger(label: "berthd")
        do {
            try FileSystem.createDirectory(config.root, mode: 0o711)
            try FileSystem.createDirectory(config.execRoot, mode: 0o711)
            try Self.lockRoot(config.root)
            for host in config.hosts.isEmpty ? [config.defaultHost] : config.hosts where host.hasPrefix("unix://") {
                try Self.checkSocketFree(String(host.dropFirst(7)))
            }
            let storage: any StorageDriver
            let cleanup = config.engine.storage.backgroundCleanup
            let plugins = Daemon.pluginRegistry(config.engine.plugins, logger: logger)
            switch config.storageDriver {
            case "overlay", "overlay2":
                storage = try OverlayDriver(home: config.root + "/storage/overlay", backgroundCleanup: cleanup)
            case "vfs": storage = try VFSDriver(home: config.root + "/storage/vfs", backgroundCleanup: cleanup)
            default:
                // A storage plugin (GraphDriver): started with the daemon, before anything uses the store.
                storage = PluginStorageDriver(
                    name: config.storageDriver, registry: plugins,
                    home: config.root + "/storage/" + config.storageDriver)
            }
            config.storageDriver = storage.name
            if config.engine.cgroupFavorDynmods, let note = Cgroups.enableFavorDynmods() { logger.info("\(note)") }
            let daemon = try Daemon(
                configuration: config, storage: storage,
                networks: ["none": NoneNetworkDriver(), "host": HostNetworkDriver(), "bridge": BridgeDriver()],
                plugins: plugins, logger: logger)
            try await daemon.prepare()
            logger.info(
                "berthd starting",
                metadata: [
                    "root": "\(config.root)", "driver": "\(storage.name)",
                    "config": "\(config.configFile ?? "(built-in defaults)")",
                ])
            let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        } catch let error as BerthError {
            Self.fail(error.message)
        }
    }

    /// The configuration file (when there is one) with the flags applied. The default file may be missing;
    /// a file named with --config must exist. Every problem is an error that names the file, line and key.
    static func configuration(file: String, overrides: EngineOverrides) throws(BerthError) -> DaemonConfiguration {
        let choices = ConfigFile.Choices(storageDrivers: storageDrivers, networks: networkNames)
        var engine = EngineConfiguration()
        var used: String? = nil
        if FileSystem.exists(file) || file != defaultConfigFile {
            engine = try ConfigFile.load(path: file, choices: choices)
            used = file
        }
        if let d = overrides.storageDriver, !storageDrivers.contains(d), !ConfigFile.hasPlugin(d, engine.plugins) {
            throw .invalidArgument(
                "--storage-driver: unknown storage driver \"\(d)\"; available: \(storageDrivers.joined(separator: ", ")), or a storage plugin in \(engine.plugins.dirs.joined(separator: ", "))"
            )
        }
        if let n = overrides.defaultNetwork, !networkNames.contains(n) {
            throw .invalidArgument(
                "--default-network: unknown network \"\(n)\"; available: \(networkNames.joined(separator: ", "))")
        }
        if let n = overrides.bridgeName, !(1...15).contains(n.utf8.count) || n.contains("/") || n.contains(" ") {
            throw .invalidArgument("--bridge: \"\(n)\" is not a valid interface name (1-15 characters)")
        }
        if let l = overrides.logLevel, DaemonLog.level(named: l) == nil {
            throw .invalidArgument("--log-level: invalid log level \(l): expected debug, info, warn, error or fatal")
        }
        for host in overrides.hosts ?? [] where !(host.hasPrefix("unix://") || host.hasPrefix("tcp://")) {
            throw .invalidArgument("invalid host \(host): expected unix://PATH or tcp://ADDR:PORT")
        }
        var config = DaemonConfiguration(engine: engine, overrides: overrides, configFile: used)
        config.choices = choices
        return config
    }

    static func fail(_ message: String) -> Never {
        var err = StandardError()
        print("berthd: \(message)", to: &err)
        Glibc.exit(1)
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
