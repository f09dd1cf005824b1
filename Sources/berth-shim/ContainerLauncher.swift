import BerthCore
import BerthOS
import CBerthLinux
import Glibc

/// Turns a `ShimSpec` into the C `berth_container_config`. The C strings and arrays live as long as the shim
/// (which exits when the container does), so they are allocated once and never freed.
struct ContainerLauncher {
    let spec: ShimSpec
    let seccompFilter: [UInt8]
    /// The network namespace to join (`--network container:NAME`), -1 for none.
    let joinNetnsFD: Int32

    init(spec: ShimSpec) throws(BerthError) {
        self.spec = spec
        if let path = spec.joinNetworkNamespace {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Syscall.error("open \(path) (the other container's network)", errno: errno) }
            joinNetnsFD = fd
        } else {
            joinNetnsFD = -1
        }
        let caps = Set(spec.capabilities)
        let kernel = Self.kernelRelease()
        let mask = String(Capabilities.mask(spec.capabilities), radix: 16)
        switch spec.privileged ? .unconfined : spec.seccomp {
        case .unconfined:
            seccompFilter = []
        case .dockerDefault:
            seccompFilter = try Self.cachedFilter(spec: spec, key: "default-v2-\(mask)-\(kernel ?? "")") {
                () throws(BerthError) in
                try SeccompCompiler.compile(
                    SeccompProfile.dockerDefault.resolved(capabilities: caps, kernelVersion: kernel))
            }
        case .custom(let profile):
            let key = SHA256.hash(Array("v2|\(profile.json.serialized)|\(mask)|\(kernel ?? "")".utf8))
            seccompFilter = try Self.cachedFilter(spec: spec, key: key) { () throws(BerthError) in
                try SeccompCompiler.compile(profile.resolved(capabilities: caps, kernelVersion: kernel))
            }
        }
    }

    /// Compiling Docker's profile with libseccomp takes milliseconds; the BPF for one profile, capability set
    /// and kernel never changes, so it is kept in `<exec-root>/seccomp/` (volatile, rebuilt after a reboot).
    static func cachedFilter(spec: ShimSpec, key: String, compile: () throws(BerthError) -> [UInt8]) throws(BerthError)
        -> [UInt8]
    {
        let execRoot = FileSystem.parent(of: FileSystem.parent(of: spec.stateDir))
        let dir = execRoot + "/seccomp"
        let path = "\(dir)/\(key).bpf"
        if let cached = try? FileSystem.readFile(path), !cached.isEmpty, cached.count % 8 == 0 { return cached }
        let filter = try compile()
        if (try? FileSystem.createDirectory(dir, mode: 0o700)) != nil {
            try? FileSystem.writeFileAtomic(path, filter, mode: 0o600, durable: false)
        }
        return filter
    }

    /// `uname -r`, for the profile's `minKernel` conditions (as Docker evaluates them).
    static func kernelRelease() -> String? {
        var u = utsname()
        guard uname(&u) == 0 else { return nil }
        return withUnsafePointer(to: &u.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
    }

    /// The shim's own permitted capability set (`CapPrm` of /proc/self/status).
    static func permittedCapabilities() -> UInt64 {
        guard let text = try? FileSystem.readText("/proc/self/status") else { return ~0 }
        for line in text.split(separator: "\n") where line.hasPrefix("CapPrm:") {
            return UInt64(line.dropFirst(7).trimmingSpaces, radix: 16) ?? ~0
        }
        return ~0
    }

    static func cString(_ s: String) -> UnsafePointer<CChar> {
        guard let p = strdup(s) else { ShimLog.fatal("berth-shim: out of memory") }
        return UnsafePointer(p)
    }

    static func cStrings(_ a: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let p = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: a.count + 1)
        for (i, s) in a.enumerated() { p[i] = cString(s) }
        p[a.count] = nil
        return UnsafePointer(p)
    }

    static let rlimitNumbers: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7, "memlock": 8,
        "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
    ]

    /// A root mount (overlay or bind of a vfs directory) as a C mount entry targeting the rootfs.
    static func rootEntry(_ m: MountSpec, rootfs: String) -> berth_mount_entry {
        var e = berth_mount_entry()
        e.target = cString(rootfs)
        e.options = Int32(BERTH_MOUNT_MKDIR)
        if m.isBind {
            e.source = cString(m.source)
            e.flags = BERTH_MS_BIND | BERTH_MS_REC
        } else {
            e.source = cString(m.source)
            e.fstype = cString(m.type)
            e.data = cString(m.options.joined(separator: ","))
        }
        return e
    }

    /// A container mount (bind, tmpfs) as a C mount entry targeting a path inside the container.
    static func entry(_ m: ShimSpec.Mount) -> berth_mount_entry {
        var e = berth_mount_entry()
        e.target = cString(m.target)
        var flags: UInt = 0
        var data: [String] = []
        var options: Int32 = 0
        for o in m.options {
            switch o {
            case "ro": flags |= BERTH_MS_RDONLY
            case "nosuid": flags |= BERTH_MS_NOSUID
            case "nodev": flags |= BERTH_MS_NODEV
            case "noexec": flags |= BERTH_MS_NOEXEC
            case "rw", "bind", "rbind", "private", "rprivate": break
            default: data.append(o)
            }
        }
        if m.type == "bind" {
            e.source = cString(m.source)
            flags |= BERTH_MS_BIND | (m.options.contains("bind") ? 0 : BERTH_MS_REC)
            options |= Int32(FileSystem.isDirectory(m.source) ? BERTH_MOUNT_MKDIR : BERTH_MOUNT_MKFILE)
            if flags & BERTH_MS_RDONLY != 0 {
                options |= Int32(BERTH_MOUNT_RO_REMOUNT)
            }
        } else {
            e.source = cString(m.source.isEmpty ? m.type : m.source)
            e.fstype = cString(m.type)
            options |= Int32(BERTH_MOUNT_MKDIR)
            if !data.isEmpty { e.data = cString(data.joined(separator: ",")) }
        }
        e.flags = flags
        e.options = options
        return e
    }

    /// Calls `body` with a filled config whose stdio is the given fds.
    func withConfig(
        stdin: Int32, stdout: Int32, stderr: Int32, joinPidfd: Int32 = -1,
        _ body: (UnsafePointer<berth_container_config>) -> Int32
    ) -> Int32 {
        var cfg = berth_container_config()
        var flags = BERTH_CLONE_NEWNS | BERTH_CLONE_NEWPID | BERTH_CLONE_NEWIPC | BERTH_CLONE_NEWUTS
        if !spec.hostNetwork && spec.joinNetworkNamespace == nil { flags |= BERTH_CLONE_NEWNET }
        cfg.clone_flags = flags
        cfg.rootfs = Self.cString(spec.rootfs)
        let roots = UnsafeMutablePointer<berth_mount_entry>.allocate(capacity: max(1, spec.rootMounts.count))
        for (i, m) in spec.rootMounts.enumerated() { roots[i] = Self.rootEntry(m, rootfs: spec.rootfs) }
        cfg.root_mounts = UnsafePointer(roots)
        cfg.n_root_mounts = Int32(spec.rootMounts.count)
        cfg.readonly_rootfs = spec.readonlyRootfs ? 1 : 0
        let mounts = UnsafeMutablePointer<berth_mount_entry>.allocate(capacity: max(1, spec.mounts.count))
        for (i, m) in spec.mounts.enumerated() { mounts[i] = Self.entry(m) }
        cfg.mounts = UnsafePointer(mounts)
        cfg.n_mounts = Int32(spec.mounts.count)
        cfg.setup_dev = 1
        cfg.privileged = spec.privileged ? 1 : 0
        cfg.masked_paths = Self.cStrings(spec.privileged ? [] : spec.maskedPaths)
        cfg.readonly_paths = Self.cStrings(spec.privileged ? [] : spec.readonlyPaths)
        cfg.hostname = spec.hostname.map(Self.cString)
        cfg.loopback_up = spec.hostNetwork || spec.joinNetworkNamespace != nil ? 0 : 1
        cfg.join_netns_fd = joinNetnsFD  // inherited by the child, which joins it first thing
        cfg.argv = Self.cStrings(spec.args)
        cfg.envp = Self.cStrings(spec.env)
        cfg.cwd = Self.cString(spec.cwd.isEmpty ? "/" : spec.cwd)
        cfg.user = Self.cString(spec.user)
        cfg.set_home = 1
        // Never ask for a capability the shim itself lacks (a host without CAP_SYS_RESOURCE, say): capset would
        // refuse the whole set.
        cfg.capabilities = Capabilities.mask(spec.capabilities) & Self.permittedCapabilities()
        cfg.no_new_privs = spec.noNewPrivileges ? 1 : 0
        if !seccompFilter.isEmpty {
            let filter = UnsafeMutableRawPointer.allocate(byteCount: seccompFilter.count, alignment: 8)
            seccompFilter.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { filter.copyMemory(from: base, byteCount: bytes.count) }
            }
            cfg.seccomp_filter = UnsafeRawPointer(filter)
            cfg.seccomp_filter_len = seccompFilter.count / 8
        }
        let limits = UnsafeMutablePointer<berth_rlimit>.allocate(capacity: max(1, spec.rlimits.count))
        var n: Int32 = 0
        for r in spec.rlimits {
            guard let number = Self.rlimitNumbers[r.name] else { continue }
            limits[Int(n)] = berth_rlimit(resource: number, soft: r.soft, hard: r.hard)
            n += 1
        }
        cfg.rlimits = UnsafePointer(limits)
        cfg.n_rlimits = n
        // The container's ends of its veth pairs: the shim makes them while the child waits, the child
        // configures them inside (no namespace switching in the shim).
        let inside = UnsafeMutablePointer<berth_net_inside>.allocate(capacity: max(1, spec.interfaces.count))
        for (k, i) in spec.interfaces.enumerated() {
            var c = berth_net_inside()
            c.name = Self.cString(i.containerName)
            if let a = IPv4Address(i.address)?.bytes { c.address = a }
            c.prefix = Int32(i.prefixLength)
            if let g = IPv4Address(i.gateway)?.bytes {
                c.gateway = g
                c.has_gateway = 1
            }
            if i.movesLink {
                c.rename_from = Self.cString(i.hostName)
                let mac = i.macAddress.split(separator: ":").compactMap { UInt8($0, radix: 16) }
                if mac.count == 6 {
                    c.mac = (mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
                    c.has_mac = 1
                }
            }
            if !i.routes.isEmpty {
                let routes = UnsafeMutablePointer<berth_net_route>.allocate(capacity: i.routes.count)
                for (n, r) in i.routes.enumerated() {
                    var route = berth_net_route()
                    if let dst = IPv4Subnet(r.destination) {
                        route.dst = dst.network.bytes
                        route.prefix = Int32(dst.prefixLength)
                    }
                    if let hop = IPv4Address(r.nextHop)?.bytes {
                        route.gateway = hop
                        route.has_gateway = 1
                    }
                    routes[n] = route
                }
                c.routes = UnsafePointer(routes)
                c.n_routes = Int32(i.routes.count)
            }
            inside[k] = c
        }
        cfg.interfaces = UnsafePointer(inside)
        cfg.n_interfaces = Int32(spec.interfaces.count)
        cfg.stdin_fd = stdin
        cfg.stdout_fd = stdout
        cfg.stderr_fd = stderr
        // A container dies with its shim: nobody else could report its exit (ARCHITECTURE: one shim per container).
        cfg.keep_pdeathsig = 1
        cfg.tty = spec.tty ? 1 : 0
        cfg.tty_rows = UInt16(clamping: spec.consoleRows)
        cfg.tty_cols = UInt16(clamping: spec.consoleCols)
        cfg.join_pidfd = joinPidfd
        return withUnsafePointer(to: &cfg) { body($0) }
    }
}
