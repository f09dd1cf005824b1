import BerthAPI
import BerthCore
import BerthImage
import BerthLua
import BerthOS
import BerthPlugins
import BerthRuntime
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The composition root: stores, services and the API server, built from a configuration and the drivers
/// `berthd` chose.
public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    let containers: ContainerService
    let images: ImageService
    /// Operator plugins, found and activated on first use.
    let plugins: PluginRegistry
    let events: EventBus
    let storage: any StorageDriver
    let networks: [String: any NetworkDriver]
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    /// Registry transfers (blocking libcurl calls, minutes for a large layer), kept off `threadPool`.
    let transferPool: NIOThreadPool
    let startedAt = Clock.nowNanos()
    /// The resolver of user-defined networks.
    let dns: DNSServer
    /// The Lua hook scripts (ARCHITECTURE §5).
    public let hooks: HookEngine
    /// What a SIGHUP reload may change.
    public let live: LiveSettings

    public init(
        configuration: DaemonConfiguration, storage: any StorageDriver, networks: [String: any NetworkDriver],
        plugins: PluginRegistry? = nil, logger: Logger
    ) throws(BerthError) {
        self.configuration = configuration
        self.storage = storage
        self.networks = networks
        self.logger = logger
        for dir in [configuration.root, configuration.containersDir, configuration.execRoot, configuration.stateDir] {
            try FileSystem.createDirectory(dir, mode: 0o711)
        }
        try? FileSystem.removeTree(configuration.root + "/tmp")
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        transferPool = NIOThreadPool(numberOfThreads: 6)
        transferPool.start()
        events = EventBus()
        hooks = HookEngine(logger: logger, version: configuration.version)
        live = LiveSettings(configuration.engine)
        let store = try ImageStore(root: configuration.root, storage: storage)
        self.plugins = plugins ?? Self.pluginRegistry(configuration.engine.plugins, logger: logger)
        store.content.sweepTemporaryFiles(partialAge: Self.partialDownloadAge)
        let launcher = ShimLauncher(
            shimPath: configuration.shimPath, group: group, threadPool: threadPool, logger: logger)
        dns = DNSServer(
            group: group, threadPool: threadPool, upstream: Self.dnsUpstream(configuration.engine), logger: logger)
        containers = ContainerService(
            configuration: configuration, images: store, storage: storage, networks: networks, launcher: launcher,
            events: events, hooks: hooks, live: live, dns: dns,
            volumes: VolumeService(
                root: configuration.root, drivers: [LocalVolumeDriver(root: configuration.root + "/volumes")],
                events: events, plugins: plugins),
            logger: logger)
        images = ImageService(
            store: store, containers: containers, events: events, hooks: hooks,
            transfers: ThreadPoolRunner(pool: transferPool), registry: configuration.engine.registry,
            buildCache: BuildCache(root: configuration.root))
    }

    /// The daemon's plugins, made before the daemon when a plugin is its storage driver. Plugin calls block
    /// a thread of their own pool.
    public static func pluginRegistry(_ settings: EngineConfiguration.Plugins, logger: Logger) -> PluginRegistry {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return PluginRegistry(
            dirs: settings.dirs, timeoutSeconds: Int(settings.timeoutSeconds), runner: ThreadPoolRunner(pool: pool),
            logger: logger)
    }

    /// How long the partial download of an abandoned pull is kept for a resume: a day.
    static let partialDownloadAge = 24 * 3600

    /// Loads the hook scripts; a script that does not load stops the daemon from starting.
    public func prepare() async throws(BerthError) {
        let scripts = try await hooks.load(settings: configuration.engine.hooks, config: Self.hostConfig(live.engine))
        if !scripts.isEmpty {
            logger.info(
                "hooks loaded",
                metadata: [
                    "dir": "\(configuration.engine.hooks.dir)",
                    "scripts": "\(scripts.map(\.name).joined(separator: ","))",
                ])
        }
    }

    static func dnsUpstream(_ e: EngineConfiguration) -> [DNSServer.Upstream] {
        e.network.dnsUpstream.map { $0.compactMap { DNSServer.Upstream($0) } } ?? DNSServer.hostUpstream()
    }

    /// What hook scripts read as `berth.config`.
    static func hostConfig(_ e: EngineConfiguration) -> JSONValue {
        .object([
            ("root", .string(e.root)), ("exec_root", .string(e.execRoot)), ("log_level", .string(e.logLevel)),
            ("storage", .object([("driver", .string(e.storage.driver))])),
            ("network", .object([("default", .string(e.network.defaultNetwork))])),
            (
                "hooks",
                .object([
                    ("dir", .string(e.hooks.dir)), ("timeout_ms", .integer(e.hooks.timeoutMilliseconds)),
                    ("instruction_limit", .integer(e.hooks.instructionLimit)),
                    ("memory_limit_mb", .integer(e.hooks.memoryLimitMiB)),
                ])
            ),
            ("plugins", .object([("dirs", .strings(e.plugins.dirs))])),
        ])
    }

    /// SIGHUP: re-reads the configuration file and the hook scripts. Running containers are not touched; a
    /// file or script that fails keeps everything as it was and logs why. Settings that need a restart are
    /// logged, not applied.
    public func reload() async {
        var engine = EngineConfiguration()
        if let file = configuration.configFile {
            do { engine = try ConfigFile.load(path: file, choices: configuration.choices) } catch {
                logger.error(
                    "reload failed, keeping the current configuration", metadata: ["error": "\(error.message)"])
                return
            }
        }
        configuration.overrides.apply(to: &engine)
        let current = live.engine
        do {
            let scripts = try await hooks.load(settings: engine.hooks, config: Self.hostConfig(engine))
            logger.info(
                "configuration reloaded",
                metadata: [
                    "file": "\(configuration.configFile ?? "(built-in defaults)")",
                    "hooks": "\(scripts.map(\.name).joined(separator: ","))",
                ])
        } catch {
            logger.error("reload failed, keeping the current configuration", metadata: ["error": "\(error.message)"])
            return
        }
        var restartOnly: [String] = []
        if engine.root != current.root { restartOnly.append("root") }
        if engine.execRoot != current.execRoot { restartOnly.append("exec_root") }
        if engine.hosts != current.hosts { restartOnly.append("hosts") }
        if engine.storage != current.storage { restartOnly.append("storage") }
        if engine.plugins != current.plugins { restartOnly.append("plugins") }
        if engine.cgroupFavorDynmods != current.cgroupFavorDynmods { restartOnly.append("cgroups") }
        if !restartOnly.isEmpty {
            logger.warning(
                "changed settings take effect after a restart",
                metadata: ["keys": "\(restartOnly.joined(separator: ","))"])
            engine.root = current.root
            engine.execRoot = current.execRoot
            engine.hosts = current.hosts
            engine.storage = current.storage
            engine.plugins = current.plugins
            engine.cgroupFavorDynmods = current.cgroupFavorDynmods
        }
        if let level = DaemonLog.level(named: engine.logLevel) { DaemonLog.currentLevel = level }
        dns.setUpstream(Self.dnsUpstream(engine))
        live.update(engine)
    }

    /// Adopts containers that kept running, then serves the API on every host until cancelled.
    public func run() async throws {
        let supervisor = PluginSupervisor(
            programs: configuration.engine.plugins.run, registry: plugins, logger: logger)
        let supervising = Task { await supervisor.run() }
        do {
            try await storage.start()
        } catch {
            await supervisor.stop()
            await supervising.value
            throw error
        }
        await containers.restore()
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let reloader = Task {
            for await _ in signals { await self.reload() }
        }
        defer { reloader.cancel() }
        let server = APIServer(
            router: Routes.router(self), serverVersion: configuration.version, logger: logger, group: group)
        var channels: [Channel] = []
        do {
            for host in configuration.hosts.isEmpty ? [configuration.defaultHost] : configuration.hosts {
                let address = try APIServer.Address(parsing: host)
                let channel = try await server.bind(address)
                if case .unix(let path) = address { chmod(path, 0o660) }
                channels.append(channel)
                logger.info("api listening", metadata: ["address": "\(address)"])
            }
        } catch {
            await supervisor.stop()
            await supervising.value
            throw error
        }
        try? await gracefulShutdown()
        await supervisor.stop()
        await supervising.value
        await containers.prepareForShutdown()
        logger.info("shutting down; containers keep running")
        for c in channels { try? await c.close() }
        await dns.stopAll()
        await storage.shutdown()
        try? await group.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
        try? await transferPool.shutdownGracefully()
    }
}

extension Daemon: Service {}
