import BerthCore
import BerthLua
import Logging
import Synchronization

/// Where the daemon keeps its state and what it serves (ARCHITECTURE §2 defaults): the configuration file's
/// settings with the daemon's flags applied over them.
public struct DaemonConfiguration: Sendable {
    public var root = "/var/lib/berth"
    public var execRoot = "/run/berth"
    public var hosts: [String] = []
    public var storageDriver = "overlay"
    public var defaultNetwork = "bridge"
    public var logLevel = "info"
    /// The `berth-shim` executable (next to `berthd` by default).
    public var shimPath = ""
    /// Version strings shown by `version` and `info`.
    public var version = "0.1.0"
    /// The configuration file read at start-up (and on SIGHUP); nil when the built-in defaults are used.
    public var configFile: String?
    /// The decoded file (or the defaults) with the flags applied.
    public var engine = EngineConfiguration()
    /// The flags given on the command line, re-applied on every reload.
    public var overrides = EngineOverrides()
    /// What a configuration file may name.
    public var choices = ConfigFile.Choices(
        storageDrivers: ["overlay", "overlay2", "vfs"], networks: ["none", "host", "bridge"])

    public init() {}

    /// The configuration of `engine` with `overrides` applied.
    public init(engine: EngineConfiguration, overrides: EngineOverrides, configFile: String?) {
        var e = engine
        overrides.apply(to: &e)
        self.engine = e
        self.overrides = overrides
        self.configFile = configFile
        root = e.root
        execRoot = e.execRoot
        hosts = e.hosts
        storageDriver = e.storage.driver
        defaultNetwork = e.network.defaultNetwork
        logLevel = e.logLevel
    }

    public var defaultHost: String { "unix://\(execRoot)/berth.sock" }
    public var containersDir: String { root + "/containers" }
    public var stateDir: String { execRoot + "/containers" }
    /// The cgroup parent below each controller's root.
    public var cgroupParent: String { "berth" }
}

/// Daemon flags that override the configuration file; nil means "not given".
public struct EngineOverrides: Sendable, Equatable {
    public var root: String?
    public var execRoot: String?
    public var hosts: [String]?
    public var storageDriver: String?
    public var defaultNetwork: String?
    public var logLevel: String?
    public var cgroupFavorDynmods: Bool?
    public var hooksDir: String?
    public var bridgeName: String?
    public var pools: [SubnetAllocator.Pool]?
    public var insecureRegistries: [String]?

    public init() {}

    public func apply(to e: inout EngineConfiguration) {
        if let root { e.root = root }
        if let execRoot { e.execRoot = execRoot }
        if let hosts, !hosts.isEmpty { e.hosts = hosts }
        if let storageDriver { e.storage.driver = storageDriver }
        if let defaultNetwork { e.network.defaultNetwork = defaultNetwork }
        if let logLevel { e.logLevel = logLevel }
        if let cgroupFavorDynmods { e.cgroupFavorDynmods = cgroupFavorDynmods }
        if let hooksDir { e.hooks.dir = hooksDir }
        if let bridgeName { e.network.bridgeName = bridgeName }
        if let pools, !pools.isEmpty { e.network.pools = pools }
        if let insecureRegistries { e.registry.insecure += insecureRegistries }
    }
}

/// Settings a SIGHUP reload may change while containers run: read at each use.
public final class LiveSettings: Sendable {
    struct State {
        var engine: EngineConfiguration
    }
    private let state: Mutex<State>

    init(_ engine: EngineConfiguration) { state = Mutex(State(engine: engine)) }

    public var engine: EngineConfiguration { state.withLock { $0.engine } }
    public var defaultNetwork: String { state.withLock { $0.engine.network.defaultNetwork } }

    func update(_ engine: EngineConfiguration) { state.withLock { $0.engine = engine } }
}

/// The daemon's log level, changeable at run time (SIGHUP): every handler made by `bootstrap` reads it.
public enum DaemonLog {
    private static let level = Mutex<Logger.Level>(.info)

    public static var currentLevel: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }

    /// `debug`, `info`, `warn`, `error`, `fatal` as swift-log levels.
    public static func level(named name: String) -> Logger.Level? {
        switch name {
        case "debug": return .debug
        case "info": return .info
        case "warn", "warning": return .warning
        case "error": return .error
        case "fatal": return .critical
        default: return nil
        }
    }

    /// Installs stderr logging whose level follows `currentLevel`.
    public static func bootstrap(level: Logger.Level) {
        currentLevel = level
        LoggingSystem.bootstrap { label in DynamicLevelHandler(inner: StreamLogHandler.standardError(label: label)) }
    }

    struct DynamicLevelHandler: LogHandler {
        var inner: StreamLogHandler
        var logLevel: Logger.Level {
            get { DaemonLog.currentLevel }
            set {}
        }
        var metadata: Logger.Metadata {
            get { inner.metadata }
            set { inner.metadata = newValue }
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { inner[metadataKey: key] }
            set { inner[metadataKey: key] = newValue }
        }
        func log(event: LogEvent) {
            inner.log(event: event)
        }
    }
}
