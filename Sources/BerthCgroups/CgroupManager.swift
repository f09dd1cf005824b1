import BerthCore
import BerthOS
import CBerthLinux
import Glibc

/// Resource limits for one container's cgroup.
public typealias CgroupResources = ShimSpec.Resources

/// Creates, limits and removes one container's cgroup. One protocol over cgroup v2 and v1 (hybrid hosts like
/// this one have v1 controllers and an empty v2 mount).
public protocol CgroupManager: Sendable {
    /// `v1` or `v2`.
    var version: Int { get }
    /// Creates the cgroup `path` (e.g. `berth/<id>`) in every controller and applies `resources`.
    /// - Throws: `.invalidArgument` for limits the kernel refuses (e.g. a cpuset of absent CPUs).
    func create(path: String, resources: CgroupResources) throws(BerthError)
    /// Moves `pid` into the cgroup.
    func attach(path: String, pid: Int32) throws(BerthError)
    /// Whether the kernel's OOM killer killed a process of the cgroup.
    func oomKilled(path: String) -> Bool
    /// The pids in the cgroup.
    func pids(path: String) -> [Int32]
    /// Removes the cgroup (kills whatever is left first). Teardown: never throws.
    func remove(path: String)
    /// Freezes (`pause`) or thaws (`unpause`) every process of the cgroup; returns once the kernel reports it.
    func setFrozen(path: String, _ frozen: Bool) throws(BerthError)
    /// Usage counters for `stats`.
    func stats(path: String) -> CgroupStats
    /// Changes the limits of a live cgroup (`update`); fields left 0 stay as they are, a pids limit of -1 lifts
    /// the limit. The kernel refuses, among others, a memory limit below what the processes use.
    func update(path: String, resources: CgroupResources) throws(BerthError)
}

/// A cgroup's counters as `docker stats` shows them.
public struct CgroupStats: Sendable, Equatable {
    /// CPU time used, in nanoseconds, in total and per CPU (v1 only; empty on v2).
    public var cpuTotal: UInt64 = 0
    public var cpuPerCPU: [UInt64] = []
    public var cpuUser: UInt64 = 0
    public var cpuSystem: UInt64 = 0
    public var memoryUsage: UInt64 = 0
    /// The limit, or the host's memory when there is none.
    public var memoryLimit: UInt64 = 0
    public var memoryMaxUsage: UInt64 = 0
    /// memory.stat, as the kernel names its keys.
    public var memoryStat: [String: UInt64] = [:]
    public var pidsCurrent: UInt64 = 0
    /// 0: no limit.
    public var pidsLimit: UInt64 = 0

    public init() {}
}

/// Picks the manager for this host: cgroup2fs at /sys/fs/cgroup is v2, anything else (tmpfs) is v1/hybrid.
public enum Cgroups {
    public static let root = "/sys/fs/cgroup"
    static let cgroup2Magic: Int64 = 0x6367_7270

    public static func detect(root: String = Cgroups.root) -> any CgroupManager {
        if berth_statfs_type(root) == cgroup2Magic { return CgroupV2Manager(root: root) }
        return CgroupV1Manager(root: root)
    }

    static func write(_ path: String, _ value: String) throws(BerthError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Syscall.error("open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            let e = errno
            let name = FileSystem.basename(path)
            if e == EINVAL || e == ERANGE {
                throw BerthError(.invalidArgument, "invalid value \(value) for \(name): \(Syscall.describe(errno: e))")
            }
            throw Syscall.error("write \(value) to \(name)", errno: e)
        }
    }

    static func read(_ path: String) -> String? {
        guard let b = try? FileSystem.readFile(path) else { return nil }
        return String(decoding: b, as: UTF8.self).trimmingSpaces
    }

    static func counter(_ text: String?, _ key: String) -> Int64 {
        for line in (text ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key, let v = Int64(parts[1]) { return v }
        }
        return 0
    }

    /// `key value` lines (memory.stat, cpu.stat) as a dictionary.
    static func keyValues(_ text: String?) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in (text ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = UInt64(parts[1]) { out[String(parts[0])] = v }
        }
        return out
    }

    static func number(_ text: String?) -> UInt64 {
        UInt64((text ?? "").trimmingSpaces) ?? 0
    }

    /// The host's memory (MemTotal), the limit shown for a container without one.
    static func hostMemory() -> UInt64 {
        for line in (read("/proc/meminfo") ?? "").split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    /// Polls `done` until it holds (a freezer state change is asynchronous), for at most about 2 seconds.
    static func waitUntil(_ what: String, _ done: () -> Bool) throws(BerthError) {
        for _ in 0..<400 {
            if done() { return }
            usleep(5000)
        }
        throw BerthError(.internalError, "timed out waiting for the cgroup to be \(what)")
    }

    static func pidsIn(_ file: String) -> [Int32] {
        (read(file) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// rmdir, retrying while the kernel still tears down exiting tasks (EBUSY).
    static func removeDirectory(_ path: String, procs: String) {
        for attempt in 0..<200 {
            if rmdir(path) == 0 || errno == ENOENT { return }
            if errno != EBUSY { return }
            if attempt % 20 == 0 { for pid in pidsIn(procs) { kill(pid, SIGKILL) } }
            usleep(5000)
        }
    }
}

extension Cgroups {
    /// On a v1 or hybrid host, moving a process between cgroups waits for an RCU grace period (about 10 ms,
    /// far more under load) unless a cgroup hierarchy is mounted with `favordynmods`, which switches the
    /// kernel's global threadgroup lock to the mode that makes migrations cheap (at a small cost to fork and
    /// exit). Berth attaches every container it starts, so `berthd` turns it on once, on the cgroup2 mount of a
    /// hybrid host (`/sys/fs/cgroup/unified`), unless told not to.
    /// - Returns: a line for the log describing what happened, or nil when there was nothing to do.
    public static func enableFavorDynmods(root: String = Cgroups.root) -> String? {
        guard berth_statfs_type(root) != cgroup2Magic else { return nil }
        let unified = root + "/unified"
        guard berth_statfs_type(unified) == cgroup2Magic else { return nil }
        let mounts = (try? FileSystem.readText("/proc/self/mounts")) ?? ""
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 3, f[1] == unified, f[3].split(separator: ",").contains("favordynmods") { return nil }
        }
        if mount(nil, unified, nil, UInt(MS_REMOUNT), "favordynmods") != 0 {
            return "could not remount \(unified) with favordynmods: \(Syscall.describe(errno: errno))"
        }
        return "remounted \(unified) with favordynmods (fast cgroup migration)"
    }
}
