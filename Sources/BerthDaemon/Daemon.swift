import BerthAPI
import BerthCore
import BerthImage
import BerthOS
import BerthRuntime
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The composition root: stores, services and the API server, built from a configuration and the drivers
/// `berthd` chose.
public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    let containers: ContainerService
    let images: ImageService
    let events: EventBus
    let storage: any StorageDriver
    let networks: [String: any NetworkDriver]
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    let startedAt = Clock.nowNanos()

    public init(
        configuration: DaemonConfiguration, storage: any StorageDriver, networks: [String: any NetworkDriver],
        logger: Logger
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
        events = EventBus()
        let store = try ImageStore(root: configuration.root, storage: storage)
        let launcher = ShimLauncher(
            shimPath: configuration.shimPath, group: group, threadPool: threadPool, logger: logger)
        containers = ContainerService(
            configuration: configuration, images: store, storage: storage, networks: networks, launcher: launcher,
            events: events, logger: logger)
        images = ImageService(store: store, containers: containers, events: events)
    }

    /// Adopts containers that kept running, then serves the API on every host until cancelled.
    public func run() async throws {
        await containers.restore()
        let server = APIServer(
            router: Routes.router(self), serverVersion: configuration.version, logger: logger, group: group)
        var channels: [Channel] = []
        for host in configuration.hosts.isEmpty ? [configuration.defaultHost] : configuration.hosts {
            let address = try APIServer.Address(parsing: host)
            let channel = try await server.bind(address)
            if case .unix(let path) = address { chmod(path, 0o660) }
            channels.append(channel)
            logger.info("api listening", metadata: ["address": "\(address)"])
        }
        try? await gracefulShutdown()
        logger.info("shutting down; containers keep running")
        for c in channels { try? await c.close() }
        await storage.shutdown()
        try? await group.shutdownGracefully()
        try? await threadPool.shutdownGracefully()
    }
}

extension Daemon: Service {}
