/// What `config.lua` configures, with the built-in defaults (ARCHITECTURE §5). Daemon flags override it.
public struct EngineConfiguration: Sendable, Equatable {
    public struct Storage: Sendable, Equatable {
        /// `overlay` or `vfs` (or, later, a plugin's name).
        public var driver = "overlay"
        /// Delete removed layers on a background task instead of before `rm` returns.
        public var backgroundCleanup = true
        public init() {}
    }

    public struct Network: Sendable, Equatable {
        /// The network of containers that name none: `bridge` (as Docker), `none` or `host`.
        public var defaultNetwork = "bridge"
        /// The default bridge network's interface.
        public var bridgeName = "berth0"
        /// Where the resolver of user networks sends names it does not know: nil for the host's
        /// resolv.conf nameservers, empty for nowhere.
        public var dnsUpstream: [String]?
        /// The nftables table (family ip) that holds Berth's rules.
        public var nftTable = "berth"
        /// Where networks without `--subnet` get theirs: blocks of `size` carved from each `base` in order.
        public var pools: [SubnetAllocator.Pool] = SubnetAllocator.dockerDefaultPools
        public init() {}
    }

    /// Per-script grants: nothing beyond the sandbox unless named here.
    public struct ScriptPermissions: Sendable, Equatable {
        public var io = false
        public var exec = false
        public init(io: Bool = false, exec: Bool = false) {
            self.io = io
            self.exec = exec
        }
    }

    public struct Hooks: Sendable, Equatable {
        /// Every `*.lua` in it is loaded in name order. A missing directory means no hooks.
        public var dir = "/etc/berth/hooks"
        /// Wall time per hook call.
        public var timeoutMilliseconds: Int64 = 2000
        /// VM instructions per hook call.
        public var instructionLimit: Int64 = 100_000_000
        /// Memory per script, in MiB.
        public var memoryLimitMiB: Int64 = 32
        /// Grants by script file name (`["audit.lua"] = { io = true }`).
        public var scripts: [String: ScriptPermissions] = [:]
        public init() {}
    }

    public struct Plugins: Sendable, Equatable {
        /// Where plugin sockets and spec files are looked for.
        public var dirs = ["/run/berth/plugins", "/etc/berth/plugins"]
        /// Seconds a plugin has to answer a call (Docker allows one to two minutes).
        public var timeoutSeconds: Int64 = 60
        /// Plugin executables the daemon starts and restarts: name → argv (an absolute path first).
        public var run: [String: [String]] = [:]
        public init() {}

        /// Plugin names are file names: letters, digits, `.`, `_` and `-`, so no name reaches outside the
        /// directories.
        public static func isValidName(_ name: String) -> Bool {
            !name.isEmpty && name.utf8.count <= 128 && !name.hasPrefix(".")
                && name.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
                }
        }

        /// Where plugin `name` may be found in `dir`, in Docker's order: its socket (`NAME.sock`,
        /// `NAME/NAME.sock`), then its spec files (`NAME.spec`, `NAME.json`).
        public static func candidatePaths(_ name: String, in dir: String) -> (sockets: [String], specs: [String]) {
            (["\(dir)/\(name).sock", "\(dir)/\(name)/\(name).sock"], ["\(dir)/\(name).spec", "\(dir)/\(name).json"])
        }
    }

    public struct Registry: Sendable, Equatable {
        /// Registries (`HOST:PORT`) that may speak plain HTTP besides loopback ones (`--insecure-registry`).
        public var insecure: [String] = []
        /// CAs of registries: `HOST:PORT/ca.crt` (Docker's `/etc/docker/certs.d`).
        public var certsDir = "/etc/berth/certs.d"
        /// Layers downloaded at once per pull.
        public var maxConcurrentDownloads: Int64 = 3
        public init() {}
    }

    public var root = "/var/lib/berth"
    public var execRoot = "/run/berth"
    /// API sockets: `unix://PATH` or `tcp://ADDR:PORT`; empty means `unix://<exec_root>/berth.sock`.
    public var hosts: [String] = []
    /// `debug`, `info`, `warn`, `error` or `fatal`.
    public var logLevel = "info"
    /// On cgroup v1 or hybrid hosts, remount the cgroup2 mount with favordynmods.
    public var cgroupFavorDynmods = true
    public var storage = Storage()
    public var network = Network()
    public var hooks = Hooks()
    public var plugins = Plugins()
    public var registry = Registry()

    public init() {}

    public static let logLevels = ["debug", "info", "warn", "error", "fatal"]
}
