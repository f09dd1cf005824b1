import BerthCore
import BerthOS
import Glibc

/// cgroup v2: one unified hierarchy; controllers enabled in each parent's `cgroup.subtree_control`.
public struct CgroupV2Manager: CgroupManager {
    public let root: String
    public var version: Int { 2 }

    public init(root: String = Cgroups.root) { self.root = root }

    public func create(path: String, resources r: CgroupResources) throws(BerthError) {
        let available = (Cgroups.read("\(root)/cgroup.controllers") ?? "").split(separator: " ").map(String.init)
        let wanted = ["cpu", "cpuset", "memory", "pids", "io"].filter { available.contains($0) }
        var current = root
        let components = path.split(separator: "/")
        do {
            for component in components {
                // Enable the controllers for the children of `current` before descending.
                for c in wanted { try? Cgroups.write("\(current)/cgroup.subtree_control", "+\(c)") }
                current += "/" + component
                try FileSystem.createDirectory(current)
            }
            try applyLimits(dir: current, resources: r)
        } catch {
            remove(path: path)
            throw error
        }
    }

    public func update(path: String, resources r: CgroupResources) throws(BerthError) {
        try applyLimits(dir: "\(root)/\(path)", resources: r)
        if r.pidsLimit < 0 { try Cgroups.write("\(root)/\(path)/pids.max", "max") }
    }

    func applyLimits(dir: String, resources r: CgroupResources) throws(BerthError) {
        if r.memory > 0 {
            try Cgroups.write("\(dir)/memory.max", String(r.memory))
            if FileSystem.exists("\(dir)/memory.swap.max") {
                let swap = r.memorySwap == 0 ? r.memory : (r.memorySwap < 0 ? -1 : r.memorySwap - r.memory)
                try Cgroups.write("\(dir)/memory.swap.max", swap < 0 ? "max" : String(swap))
            }
        }
        if r.nanoCpus > 0 {
            let period: Int64 = 100_000
            try Cgroups.write("\(dir)/cpu.max", "\(max(1000, r.nanoCpus * period / 1_000_000_000)) \(period)")
        } else if r.cpuQuota > 0 {
            try Cgroups.write("\(dir)/cpu.max", "\(r.cpuQuota) \(r.cpuPeriod > 0 ? r.cpuPeriod : 100_000)")
        }
        if r.cpuShares > 0 {
            try Cgroups.write("\(dir)/cpu.weight", String(1 + ((r.cpuShares - 2) * 9999) / 262142))
        }
        if !r.cpusetCpus.isEmpty { try Cgroups.write("\(dir)/cpuset.cpus", r.cpusetCpus) }
        if !r.cpusetMems.isEmpty { try Cgroups.write("\(dir)/cpuset.mems", r.cpusetMems) }
        if r.pidsLimit > 0 { try Cgroups.write("\(dir)/pids.max", String(r.pidsLimit)) }
    }

    public func attach(path: String, pid: Int32) throws(BerthError) {
        try Cgroups.write("\(root)/\(path)/cgroup.procs", String(pid))
    }

    public func oomKilled(path: String) -> Bool {
        Cgroups.counter(Cgroups.read("\(root)/\(path)/memory.events"), "oom_kill") > 0
    }

    public func pids(path: String) -> [Int32] { Cgroups.pidsIn("\(root)/\(path)/cgroup.procs") }

    public func setFrozen(path: String, _ frozen: Bool) throws(BerthError) {
        let dir = "\(root)/\(path)"
        try Cgroups.write("\(dir)/cgroup.freeze", frozen ? "1" : "0")
        try Cgroups.waitUntil(frozen ? "frozen" : "thawed") {
            Cgroups.keyValues(Cgroups.read("\(dir)/cgroup.events"))["frozen"] == (frozen ? 1 : 0)
        }
    }

    public func stats(path: String) -> CgroupStats {
        var s = CgroupStats()
        let dir = "\(root)/\(path)"
        let cpu = Cgroups.keyValues(Cgroups.read("\(dir)/cpu.stat"))
        s.cpuTotal = (cpu["usage_usec"] ?? 0) * 1000
        s.cpuUser = (cpu["user_usec"] ?? 0) * 1000
        s.cpuSystem = (cpu["system_usec"] ?? 0) * 1000
        s.memoryUsage = Cgroups.number(Cgroups.read("\(dir)/memory.current"))
        s.memoryMaxUsage = Cgroups.number(Cgroups.read("\(dir)/memory.peak"))
        let host = Cgroups.hostMemory()
        let limit = Cgroups.number(Cgroups.read("\(dir)/memory.max"))  // "max" reads as 0
        s.memoryLimit = limit == 0 || limit > host ? host : limit
        s.memoryStat = Cgroups.keyValues(Cgroups.read("\(dir)/memory.stat"))
        s.pidsCurrent = Cgroups.number(Cgroups.read("\(dir)/pids.current"))
        s.pidsLimit = Cgroups.number(Cgroups.read("\(dir)/pids.max"))
        return s
    }

    public func remove(path: String) {
        let dir = "\(root)/\(path)"
        guard FileSystem.isDirectory(dir) else { return }
        if FileSystem.exists("\(dir)/cgroup.freeze") { try? Cgroups.write("\(dir)/cgroup.freeze", "0") }
        if FileSystem.exists("\(dir)/cgroup.kill") { try? Cgroups.write("\(dir)/cgroup.kill", "1") }
        Cgroups.removeDirectory(dir, procs: "\(dir)/cgroup.procs")
    }
}
