/// Linux capability names and numbers, and Docker's default set.
public enum Capabilities {
    /// Capability names in number order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
    public static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// Docker's default capability set for containers.
    public static let dockerDefault: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// Normalizes `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN` to `CAP_NET_ADMIN`; `ALL` stays `ALL`.
    public static func normalize(_ name: String) throws(BerthError) -> String {
        let upper = name.uppercased()
        if upper == "ALL" { return "ALL" }
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        guard all.contains(full) else { throw .invalidArgument("invalid capability: \(name)") }
        return full
    }

    /// The effective set after moby's rules (`TweakCapabilities`): privileged gets all; `--cap-add ALL` gets all
    /// but the drops; `--cap-drop ALL` gets only the adds; otherwise the default set without the drops, plus the
    /// adds (so a capability both added and dropped is kept, as in moby).
    public static func effective(add: [String], drop: [String], privileged: Bool) throws(BerthError) -> [String] {
        if privileged { return all }
        let adds = try add.map { (s: String) throws(BerthError) in try normalize(s) }
        let drops = try drop.map { (s: String) throws(BerthError) in try normalize(s) }
        let set: [String]
        if adds.contains("ALL") {
            set = all.filter { !drops.contains($0) }
        } else if drops.contains("ALL") {
            set = adds
        } else {
            set = dockerDefault.filter { !drops.contains($0) } + adds
        }
        return all.filter { set.contains($0) }
    }

    /// The bit mask of `names` (bit n = capability n).
    public static func mask(_ names: [String]) -> UInt64 {
        var m: UInt64 = 0
        for n in names { if let i = all.firstIndex(of: n) { m |= 1 << UInt64(i) } }
        return m
    }
}
