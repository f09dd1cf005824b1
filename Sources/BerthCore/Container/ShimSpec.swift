/// Everything `berth-shim` needs to run one container, written by the daemon as `spec.json` in the container's
/// state directory. Encoded with `JSONValue` because the shim has no Foundation.
public struct ShimSpec: Sendable, Equatable {
    public struct Mount: Sendable, Equatable {
        public var source: String
        /// Absolute path inside the container.
        public var target: String
        /// `bind`, `tmpfs`, …
        public var type: String
        public var options: [String]
        public init(source: String, target: String, type: String, options: [String]) {
            self.source = source
            self.target = target
            self.type = type
            self.options = options
        }
    }

    public struct Rlimit: Sendable, Equatable {
        /// `nofile`, `nproc`, `core`, … (Docker's `--ulimit` names).
        public var name: String
        public var soft: UInt64
        public var hard: UInt64
        public init(name: String, soft: UInt64, hard: UInt64) {
            self.name = name
            self.soft = soft
            self.hard = hard
        }
    }

    public struct Resources: Sendable, Equatable {
        public var memory: Int64 = 0
        /// -1 unlimited, 0 unset (twice the memory, as Docker), otherwise memory+swap.
        public var memorySwap: Int64 = 0
        public var nanoCpus: Int64 = 0
        public var cpuShares: Int64 = 0
        public var cpuQuota: Int64 = 0
        public var cpuPeriod: Int64 = 0
        public var cpusetCpus: String = ""
        public var cpusetMems: String = ""
        /// 0 or negative: unlimited.
        public var pidsLimit: Int64 = 0
        /// Privileged containers get every device.
        public var allowAllDevices: Bool = false
        public init() {}
    }

    public enum Seccomp: Sendable, Equatable {
        case unconfined
        case dockerDefault
        case custom(SeccompProfile)
    }

    public var id: String
    /// The shim's state directory (`<exec-root>/containers/<id>`): sockets, pid, exit status.
    public var stateDir: String
    /// The json-file log (`<root>/containers/<id>/<id>-json.log`).
    public var logPath: String
    /// Where the rootfs is assembled (inside the container's mount namespace only).
    public var rootfs: String
    public var rootMounts: [MountSpec]
    public var readonlyRootfs: Bool = false
    public var mounts: [Mount] = []
    public var hostname: String?
    /// `isolated` (new netns, loopback up) or `host`.
    public var hostNetwork: Bool = false
    /// Interfaces the shim wires into the container's network namespace after the clone, before the
    /// process runs (a network driver describes them; the shim, single-threaded, may switch namespaces).
    public var interfaces: [Interface] = []
    /// `--network container:NAME`: the network namespace to join ("/proc/PID/ns/net"), nil for a new one.
    public var joinNetworkNamespace: String?
    public var args: [String]
    public var env: [String]
    public var cwd: String = "/"
    public var user: String = ""
    public var capabilities: [String] = Capabilities.dockerDefault
    public var privileged: Bool = false
    public var noNewPrivileges: Bool = false
    public var seccomp: Seccomp = .dockerDefault
    public var rlimits: [Rlimit] = []
    public var maskedPaths: [String] = ShimSpec.defaultMaskedPaths
    public var readonlyPaths: [String] = ShimSpec.defaultReadonlyPaths
    public var openStdin: Bool = false
    /// Whether the shim sends output to the daemon from the start (until an `output` message says otherwise).
    public var forwardOutput: Bool = true
    public var stdinOnce: Bool = false
    /// A pseudo-terminal for stdin, stdout and stderr (`-t`), with its first size (rows, columns; 0: default).
    public var tty: Bool = false
    public var consoleRows = 0
    public var consoleCols = 0
    /// exec: the pid (in the shim's pid namespace) of the running container's first process, whose namespaces,
    /// root and cgroup the process joins; 0 for a container's own start.
    public var joinPID: Int32 = 0
    /// The cgroup path below each controller's root (e.g. `berth/<id>`).
    public var cgroupPath: String
    public var resources: Resources = Resources()
    /// json-file rotation: 0 means unlimited.
    public var logMaxSize: Int64 = 0
    /// json-file rotation: how many files are kept (`max-file`).
    public var logMaxFiles: Int = 1
    /// Write phase timings to the shim's log (`<state>/shim.log`); set when the daemon logs at debug level.
    public var trace: Bool = false

    public init(
        id: String, stateDir: String, logPath: String, rootfs: String, rootMounts: [MountSpec], args: [String],
        env: [String], cgroupPath: String
    ) {
        self.id = id
        self.stateDir = stateDir
        self.logPath = logPath
        self.rootfs = rootfs
        self.rootMounts = rootMounts
        self.args = args
        self.env = env
        self.cgroupPath = cgroupPath
    }

    public static let defaultMaskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]
    public static let defaultReadonlyPaths = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]
}

// MARK: - JSON

extension ShimSpec {
    /// An rlimit as a JSON integer, or as a decimal string past Int64 (RLIM_INFINITY).
    static func limitJSON(_ v: UInt64) -> JSONValue {
        v <= UInt64(Int64.max) ? .int(Int64(v)) : .string(String(v))
    }

    static func limit(_ v: JSONValue?) -> UInt64 {
        v?.uint64Value ?? UInt64(v?.stringValue ?? "") ?? 0
    }

    /// A container's network interface, configured inside: a veth pair the shim makes from a host bridge, or
    /// (`movesLink`) a link a network plugin made on the host, which the shim moves into the container.
    public struct Interface: Sendable, Equatable {
        /// A static route: to `destination` ("a.b.c.d/n") through `nextHop`, or on the link when it is empty.
        public struct Route: Sendable, Equatable {
            public var destination: String
            public var nextHop: String
            public init(destination: String, nextHop: String) {
                self.destination = destination
                self.nextHop = nextHop
            }
        }

        /// The host bridge of a veth pair; empty when `movesLink`.
        public var bridge: String
        public var hostName: String
        public var peerName: String
        public var containerName: String
        public var mtu: Int
        /// IPv4 "a.b.c.d".
        public var address: String
        public var prefixLength: Int
        /// Default route via this gateway; empty for none (an internal network).
        public var gateway: String
        /// "02:42:…"; empty lets the kernel choose.
        public var macAddress: String
        /// `hostName` is an existing host link to move into the container (a network plugin's `SrcName`).
        public var movesLink = false
        /// Routes added before the default route.
        public var routes: [Route] = []

        public init(
            bridge: String, hostName: String, peerName: String, containerName: String, mtu: Int, address: String,
            prefixLength: Int, gateway: String, macAddress: String
        ) {
            self.bridge = bridge
            self.hostName = hostName
            self.peerName = peerName
            self.containerName = containerName
            self.mtu = mtu
            self.address = address
            self.prefixLength = prefixLength
            self.gateway = gateway
            self.macAddress = macAddress
        }

        var json: JSONValue {
            .object([
                ("bridge", .string(bridge)), ("hostName", .string(hostName)), ("peerName", .string(peerName)),
                ("containerName", .string(containerName)), ("mtu", .int(mtu)), ("address", .string(address)),
                ("prefixLength", .int(prefixLength)), ("gateway", .string(gateway)),
                ("macAddress", .string(macAddress)), ("movesLink", .bool(movesLink)),
                (
                    "routes",
                    .array(
                        routes.map {
                            .object([("destination", .string($0.destination)), ("nextHop", .string($0.nextHop))])
                        }
                    )
                ),
            ])
        }

        init(json j: JSONValue) throws(BerthError) {
            guard let bridge = j["bridge"]?.stringValue, let host = j["hostName"]?.stringValue,
                let peer = j["peerName"]?.stringValue, let name = j["containerName"]?.stringValue,
                let address = j["address"]?.stringValue, let prefix = j["prefixLength"]?.intValue
            else { throw .invalidArgument("spec: malformed interface") }
            self.init(
                bridge: bridge, hostName: host, peerName: peer, containerName: name, mtu: j["mtu"]?.intValue ?? 0,
                address: address, prefixLength: prefix, gateway: j["gateway"]?.stringValue ?? "",
                macAddress: j["macAddress"]?.stringValue ?? "")
            movesLink = j["movesLink"]?.boolValue ?? false
            routes = (j["routes"]?.arrayValue ?? []).map {
                Route(destination: $0["destination"]?.stringValue ?? "", nextHop: $0["nextHop"]?.stringValue ?? "")
            }
        }
    }

    public var json: JSONValue {
        func strings(_ a: [String]) -> JSONValue { .array(a.map { .string($0) }) }
        func num(_ n: Int64) -> JSONValue { .int(n) }
        let seccompJSON: JSONValue
        switch seccomp {
        case .unconfined: seccompJSON = .string("unconfined")
        case .dockerDefault: seccompJSON = .string("default")
        case .custom(let profile): seccompJSON = profile.json
        }
        return .object(
            [
                ("id", .string(id)),
                ("stateDir", .string(stateDir)),
                ("logPath", .string(logPath)),
                ("rootfs", .string(rootfs)),
                (
                    "rootMounts",
                    .array(
                        rootMounts.map {
                            .object([
                                ("type", .string($0.type)), ("source", .string($0.source)),
                                ("options", strings($0.options)),
                            ])
                        })
                ),
                ("readonlyRootfs", .bool(readonlyRootfs)),
                (
                    "mounts",
                    .array(
                        mounts.map {
                            .object([
                                ("source", .string($0.source)), ("target", .string($0.target)),
                                ("type", .string($0.type)),
                                ("options", strings($0.options)),
                            ])
                        })
                ),
                ("hostname", hostname.map { .string($0) } ?? .null),
                ("hostNetwork", .bool(hostNetwork)),
            ]
                + (interfaces.isEmpty ? [] : [("interfaces", .array(interfaces.map(\.json)))])
                + (joinNetworkNamespace.map { [("joinNetworkNamespace", JSONValue.string($0))] } ?? [])
                + (tty
                    ? [("tty", .bool(true)), ("consoleSize", .array([.int(consoleRows), .int(consoleCols)]))]
                    : [])
                + (joinPID > 0 ? [("joinPID", .int(Int(joinPID)))] : [])
                + (forwardOutput ? [] : [("forwardOutput", .bool(false))])
                + [
                    ("args", strings(args)),
                    ("env", strings(env)),
                    ("cwd", .string(cwd)),
                    ("user", .string(user)),
                    ("capabilities", strings(capabilities)),
                    ("privileged", .bool(privileged)),
                    ("noNewPrivileges", .bool(noNewPrivileges)),
                    ("seccomp", seccompJSON),
                    (
                        "rlimits",
                        .array(
                            rlimits.map {
                                .object([("name", .string($0.name)), ("soft", .int($0.soft)), ("hard", .int($0.hard))])
                            })
                    ),
                    ("maskedPaths", strings(maskedPaths)),
                    ("readonlyPaths", strings(readonlyPaths)),
                    ("openStdin", .bool(openStdin)),
                    ("stdinOnce", .bool(stdinOnce)),
                    ("cgroupPath", .string(cgroupPath)),
                    (
                        "resources",
                        .object([
                            ("memory", num(resources.memory)), ("memorySwap", num(resources.memorySwap)),
                            ("nanoCpus", num(resources.nanoCpus)), ("cpuShares", num(resources.cpuShares)),
                            ("cpuQuota", num(resources.cpuQuota)), ("cpuPeriod", num(resources.cpuPeriod)),
                            ("cpusetCpus", .string(resources.cpusetCpus)),
                            ("cpusetMems", .string(resources.cpusetMems)),
                            ("pidsLimit", num(resources.pidsLimit)),
                            ("allowAllDevices", .bool(resources.allowAllDevices)),
                        ])
                    ),
                    ("logMaxSize", num(logMaxSize)), ("logMaxFiles", .int(logMaxFiles)),
                    ("trace", .bool(trace)),
                ])
    }

    public init(json: JSONValue) throws(BerthError) {
        func str(_ v: JSONValue?, _ key: String) throws(BerthError) -> String {
            guard let s = v?.stringValue else { throw .invalidArgument("spec: \(key) must be a string") }
            return s
        }
        func strs(_ v: JSONValue?, _ key: String) throws(BerthError) -> [String] {
            guard let a = v?.arrayValue else { throw .invalidArgument("spec: \(key) must be an array") }
            return a.compactMap(\.stringValue)
        }
        self.init(
            id: try str(json["id"], "id"), stateDir: try str(json["stateDir"], "stateDir"),
            logPath: try str(json["logPath"], "logPath"), rootfs: try str(json["rootfs"], "rootfs"),
            rootMounts: [], args: try strs(json["args"], "args"), env: try strs(json["env"], "env"),
            cgroupPath: try str(json["cgroupPath"], "cgroupPath"))
        for m in json["rootMounts"]?.arrayValue ?? [] {
            rootMounts.append(
                MountSpec(
                    type: try str(m["type"], "rootMounts.type"), source: try str(m["source"], "rootMounts.source"),
                    options: m["options"]?.stringArray ?? []))
        }
        readonlyRootfs = json["readonlyRootfs"]?.boolValue ?? false
        for m in json["mounts"]?.arrayValue ?? [] {
            mounts.append(
                Mount(
                    source: try str(m["source"], "mounts.source"), target: try str(m["target"], "mounts.target"),
                    type: try str(m["type"], "mounts.type"), options: m["options"]?.stringArray ?? []))
        }
        hostname = json["hostname"]?.stringValue
        hostNetwork = json["hostNetwork"]?.boolValue ?? false
        for i in json["interfaces"]?.arrayValue ?? [] { interfaces.append(try Interface(json: i)) }
        joinNetworkNamespace = json["joinNetworkNamespace"]?.stringValue
        tty = json["tty"]?.boolValue ?? false
        if let size = json["consoleSize"]?.arrayValue, size.count == 2 {
            consoleRows = size[0].intValue ?? 0
            consoleCols = size[1].intValue ?? 0
        }
        joinPID = Int32(json["joinPID"]?.intValue ?? 0)
        cwd = json["cwd"]?.stringValue ?? "/"
        user = json["user"]?.stringValue ?? ""
        capabilities = json["capabilities"]?.stringArray ?? []
        privileged = json["privileged"]?.boolValue ?? false
        noNewPrivileges = json["noNewPrivileges"]?.boolValue ?? false
        switch json["seccomp"] {
        case .string("unconfined")?: seccomp = .unconfined
        case .string("default")?, nil: seccomp = .dockerDefault
        case let value?: seccomp = .custom(try SeccompProfile(json: value))
        }
        for r in json["rlimits"]?.arrayValue ?? [] {
            rlimits.append(
                Rlimit(
                    name: try str(r["name"], "rlimits.name"), soft: Self.limit(r["soft"]), hard: Self.limit(r["hard"])))
        }
        maskedPaths = json["maskedPaths"]?.stringArray ?? []
        readonlyPaths = json["readonlyPaths"]?.stringArray ?? []
        openStdin = json["openStdin"]?.boolValue ?? false
        forwardOutput = json["forwardOutput"]?.boolValue ?? true
        stdinOnce = json["stdinOnce"]?.boolValue ?? false
        if let r = json["resources"] {
            resources.memory = Int64(r["memory"]?.intValue ?? 0)
            resources.memorySwap = Int64(r["memorySwap"]?.intValue ?? 0)
            resources.nanoCpus = Int64(r["nanoCpus"]?.intValue ?? 0)
            resources.cpuShares = Int64(r["cpuShares"]?.intValue ?? 0)
            resources.cpuQuota = Int64(r["cpuQuota"]?.intValue ?? 0)
            resources.cpuPeriod = Int64(r["cpuPeriod"]?.intValue ?? 0)
            resources.cpusetCpus = r["cpusetCpus"]?.stringValue ?? ""
            resources.cpusetMems = r["cpusetMems"]?.stringValue ?? ""
            resources.pidsLimit = Int64(r["pidsLimit"]?.intValue ?? 0)
            resources.allowAllDevices = r["allowAllDevices"]?.boolValue ?? false
        }
        logMaxSize = Int64(json["logMaxSize"]?.intValue ?? 0)
        logMaxFiles = json["logMaxFiles"]?.intValue ?? 1
        trace = json["trace"]?.boolValue ?? false
    }
}
