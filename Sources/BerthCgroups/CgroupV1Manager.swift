import BerthCore
import BerthOS
import Glibc

/// cgroup v1: one hierarchy per controller under /sys/fs/cgroup/<controller>.
public struct CgroupV1Manager: CgroupManager {
    public let root: String
    public var version: Int { 1 }

    /// The controllers Berth uses, each created when the host mounts it.
    static let controllers = ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"]

    /// Docker's default device allow-list.
    static let deviceRules = [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
        "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
    ]

    public init(root: String = Cgroups.root) { self.root = root }

    func available() -> [String] {
        var seen: Set<String> = []
        var result: [String] = []
        for c in CgroupV1Manager.controllers where FileSystem.isDirectory("\(root)/\(c)") {
            // cpu and cpuacct are usually one hierarchy reached by two symlinks.
            var buf = [CChar](repeating: 0, count: 4096)
            let real = realpath("\(root)/\(c)", &buf) != nil ? String(nulTerminated: buf) : c
            if seen.insert(real).inserted { result.append(c) }
        }
        return result
    }

    public func create(path: String, resources r: CgroupResources) throws(BerthError) {
        // A cpuset cgroup costs several reads and writes to set up; only containers that ask for one get it.
        let wantsCpuset = !r.cpusetCpus.isEmpty || !r.cpusetMems.isEmpty
        let controllers = available().filter { $0 != "cpuset" || wantsCpuset }
        do {
            for c in controllers {
                let dir = "\(root)/\(c)/\(path)"
                if c == "cpuset" { try prepareCpuset(path: path) } else { try FileSystem.createDirectory(dir) }
            }
            try apply(path: path, resources: r, controllers: controllers)
        } catch {
            remove(path: path)
            throw error
        }
    }

    /// A new cpuset cgroup is unusable until cpus and mems are copied from its parent, level by level.
    func prepareCpuset(path: String) throws(BerthError) {
        var current = "\(root)/cpuset"
        for component in path.split(separator: "/") {
            let next = current + "/" + component
            if !FileSystem.isDirectory(next) {
                try FileSystem.createDirectory(next)
            }
            for file in ["cpuset.cpus", "cpuset.mems"] where (Cgroups.read("\(next)/\(file)") ?? "").isEmpty {
                try Cgroups.write("\(next)/\(file)", Cgroups.read("\(current)/\(file)") ?? "")
            }
            current = next
        }
    }

    func apply(path: String, resources r: CgroupResources, controllers: [String]) throws(BerthError) {
        let mem = "\(root)/memory/\(path)"
        if controllers.contains("memory"), r.memory > 0 {
            try Cgroups.write("\(mem)/memory.limit_in_bytes", String(r.memory))
            if FileSystem.exists("\(mem)/memory.memsw.limit_in_bytes") {
                let swap: Int64 = r.memorySwap == 0 ? r.memory * 2 : r.memorySwap
                try Cgroups.write("\(mem)/memory.memsw.limit_in_bytes", String(swap))
            }
        }
        let cpu = "\(root)/cpu/\(path)"
        if controllers.contains("cpu") || FileSystem.isDirectory(cpu) {
            if r.cpuShares > 0 { try Cgroups.write("\(cpu)/cpu.shares", String(r.cpuShares)) }
            if r.nanoCpus > 0 {
                let period: Int64 = 100_000
                try Cgroups.write("\(cpu)/cpu.cfs_period_us", String(period))
                try Cgroups.write("\(cpu)/cpu.cfs_quota_us", String(max(1000, r.nanoCpus * period / 1_000_000_000)))
            } else if r.cpuQuota > 0 {
                if r.cpuPeriod > 0 { try Cgroups.write("\(cpu)/cpu.cfs_period_us", String(r.cpuPeriod)) }
                try Cgroups.write("\(cpu)/cpu.cfs_quota_us", String(r.cpuQuota))
            }
        }
        let cpuset = "\(root)/cpuset/\(path)"
        if controllers.contains("cpuset") {
            if !r.cpusetCpus.isEmpty { try Cgroups.write("\(cpuset)/cpuset.cpus", r.cpusetCpus) }
            if !r.cpusetMems.isEmpty { try Cgroups.write("\(cpuset)/cpuset.mems", r.cpusetMems) }
        }
        if controllers.contains("pids"), r.pidsLimit > 0 {
            try Cgroups.write("\(root)/pids/\(path)/pids.max", String(r.pidsLimit))
        }
        if controllers.contains("devices"), !r.allowAllDevices {
            let dev = "\(root)/devices/\(path)"
            try Cgroups.write("\(dev)/devices.deny", "a")
            for rule in CgroupV1Manager.deviceRules { try Cgroups.write("\(dev)/devices.allow", rule) }
        }
    }

    public func update(path: String, resources r: CgroupResources) throws(BerthError) {
        let mem = "\(root)/memory/\(path)"
        if r.memory > 0 {
            let memsw = "\(mem)/memory.memsw.limit_in_bytes"
            let swap: Int64 = r.memorySwap == 0 ? r.memory * 2 : r.memorySwap
            // memory.limit must stay at most memsw.limit at every step.
            let growing = swap >= Int64(Cgroups.number(Cgroups.read(memsw)))
            if growing, FileSystem.exists(memsw) { try Cgroups.write(memsw, String(swap)) }
            try Cgroups.write("\(mem)/memory.limit_in_bytes", String(r.memory))
            if !growing, FileSystem.exists(memsw) { try Cgroups.write(memsw, String(swap)) }
        }
        var rest = r
        rest.memory = 0
        let controllers = available().filter { FileSystem.isDirectory("\(root)/\($0)/\(path)") && $0 != "devices" }
        try apply(path: path, resources: rest, controllers: controllers)
        if r.pidsLimit < 0 { try Cgroups.write("\(root)/pids/\(path)/pids.max", "max") }
    }

    public func attach(path: String, pid: Int32) throws(BerthError) {
        for c in available() where FileSystem.isDirectory("\(root)/\(c)/\(path)") {
            try Cgroups.write("\(root)/\(c)/\(path)/cgroup.procs", String(pid))
        }
    }

    public func oomKilled(path: String) -> Bool {
        let text = Cgroups.read("\(root)/memory/\(path)/memory.oom_control")
        return Cgroups.counter(text, "oom_kill") > 0
    }

    public func pids(path: String) -> [Int32] {
        Cgroups.pidsIn("\(root)/pids/\(path)/cgroup.procs")
    }

    public func setFrozen(path: String, _ frozen: Bool) throws(BerthError) {
        let file = "\(root)/freezer/\(path)/freezer.state"
        guard FileSystem.exists(file) else { throw BerthError(.internalError, "no freezer cgroup for \(path)") }
        let want = frozen ? "FROZEN" : "THAWED"
        try Cgroups.write(file, want)
        try Cgroups.waitUntil(want.lowercased()) {
            Cgroups.read(file)?.trimmingSpaces == want
        }
    }

    public func stats(path: String) -> CgroupStats {
        var s = CgroupStats()
        let cpu = "\(root)/cpuacct/\(path)"
        s.cpuTotal = Cgroups.number(Cgroups.read("\(cpu)/cpuacct.usage"))
        s.cpuPerCPU = (Cgroups.read("\(cpu)/cpuacct.usage_percpu") ?? "").split(separator: " ").compactMap {
            UInt64($0.trimmingSpaces)
        }
        // cpuacct.stat is in USER_HZ ticks.
        let ticks = Cgroups.keyValues(Cgroups.read("\(cpu)/cpuacct.stat"))
        let tick = UInt64(1_000_000_000) / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        s.cpuUser = (ticks["user"] ?? 0) * tick
        s.cpuSystem = (ticks["system"] ?? 0) * tick
        let mem = "\(root)/memory/\(path)"
        s.memoryUsage = Cgroups.number(Cgroups.read("\(mem)/memory.usage_in_bytes"))
        s.memoryMaxUsage = Cgroups.number(Cgroups.read("\(mem)/memory.max_usage_in_bytes"))
        let limit = Cgroups.number(Cgroups.read("\(mem)/memory.limit_in_bytes"))
        let host = Cgroups.hostMemory()
        s.memoryLimit = limit == 0 || limit > host ? host : limit
        s.memoryStat = Cgroups.keyValues(Cgroups.read("\(mem)/memory.stat"))
        let pids = "\(root)/pids/\(path)"
        s.pidsCurrent = Cgroups.number(Cgroups.read("\(pids)/pids.current"))
        s.pidsLimit = Cgroups.number(Cgroups.read("\(pids)/pids.max"))
        return s
    }

    public func remove(path: String) {
        // Frozen processes cannot die: thaw first.
        if Cgroups.read("\(root)/freezer/\(path)/freezer.state")?.hasPrefix("THAWED") == false {
            try? Cgroups.write("\(root)/freezer/\(path)/freezer.state", "THAWED")
        }
        for c in available() {
            let dir = "\(root)/\(c)/\(path)"
            guard FileSystem.isDirectory(dir) else { continue }
            Cgroups.removeDirectory(dir, procs: "\(dir)/cgroup.procs")
        }
    }
}
