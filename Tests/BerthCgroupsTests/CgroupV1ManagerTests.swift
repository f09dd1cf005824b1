import BerthCore
import BerthOS
import BerthTestSupport
import Foundation
import Glibc
import Testing

@testable import BerthCgroups

/// Runs on this host's real cgroup v1 hierarchies (hybrid: v1 controllers, an empty cgroup2 at `unified`), as root.
struct CgroupV1ManagerTests {
    static let root = Cgroups.root

    /// Every v1 hierarchy mounted under /sys/fs/cgroup (the controllers and `systemd`), by directory name.
    static func hierarchies() -> [String] {
        ((try? FileSystem.list(root)) ?? []).filter { name in
            name != "unified" && FileSystem.isDirectory("\(root)/\(name)")
        }.sorted()
    }

    static func read(_ path: String) -> String? {
        (try? FileSystem.readText(path)).map { $0.trimmingSpaces }
    }

    /// Makes `berth-test-<random>`, runs `body` with it, then removes the children the test left and the parent in
    /// every hierarchy, even when `body` throws.
    static func withTestParent(_ body: (String) async throws -> Void) async throws {
        let parent = "berth-test-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            for h in hierarchies() {
                let dir = "\(root)/\(h)/\(parent)"
                guard FileSystem.isDirectory(dir) else { continue }
                for child in (try? FileSystem.list(dir)) ?? [] where FileSystem.isDirectory("\(dir)/\(child)") {
                    rmdir("\(dir)/\(child)")
                }
                rmdir(dir)
            }
        }
        try await body(parent)
    }

    static func spawnSleep() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        try process.run()
        return process
    }

    @Test func detectFindsVersionOneOnThisHost() {
        let manager = Cgroups.detect()
        #expect(manager.version == 1)
        #expect(manager is CgroupV1Manager)
    }

    @Test func createAppliesLimitsAndRemoveKillsAndRemoves() async throws {
        let manager = Cgroups.detect()
        try await Self.withTestParent { parent in
            let path = "\(parent)/c1"
            var resources = CgroupResources()
            resources.memory = 32 * 1024 * 1024
            resources.pidsLimit = 16
            resources.nanoCpus = 500_000_000
            resources.cpuShares = 512
            resources.cpusetCpus = "0"
            try manager.create(path: path, resources: resources)

            let memory = "\(Self.root)/memory/\(path)"
            #expect(Self.read("\(memory)/memory.limit_in_bytes") == "33554432")
            if FileSystem.exists("\(memory)/memory.memsw.limit_in_bytes") {
                #expect(Self.read("\(memory)/memory.memsw.limit_in_bytes") == "67108864")
            }
            #expect(Self.read("\(Self.root)/pids/\(path)/pids.max") == "16")
            #expect(Self.read("\(Self.root)/cpu/\(path)/cpu.cfs_quota_us") == "50000")
            #expect(Self.read("\(Self.root)/cpu/\(path)/cpu.cfs_period_us") == "100000")
            #expect(Self.read("\(Self.root)/cpu/\(path)/cpu.shares") == "512")
            #expect(Self.read("\(Self.root)/cpuset/\(path)/cpuset.cpus") == "0")
            #expect(Self.read("\(Self.root)/cpuset/\(path)/cpuset.mems")?.isEmpty == false)
            // Docker's device allow-list: no `a *:* rwm`, but /dev/null is there.
            let devices = Self.read("\(Self.root)/devices/\(path)/devices.list") ?? ""
            #expect(devices.contains("c 1:3 rwm"))
            #expect(!devices.contains("a *:* rwm"))
            for h in ["memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio"]
            where FileSystem.isDirectory("\(Self.root)/\(h)") {
                #expect(FileSystem.isDirectory("\(Self.root)/\(h)/\(path)"), "\(h) cgroup missing")
            }

            let sleeper = try Self.spawnSleep()
            defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) } }
            let pid = sleeper.processIdentifier
            try manager.attach(path: path, pid: pid)
            #expect(manager.pids(path: path) == [pid])
            let membership = (try? FileSystem.readText("/proc/\(pid)/cgroup")) ?? ""
            #expect(membership.contains(":memory:/\(path)\n"))
            #expect(membership.contains(":pids:/\(path)\n"))
            #expect(!manager.oomKilled(path: path))

            manager.remove(path: path)
            sleeper.waitUntilExit()
            #expect(sleeper.terminationReason == .uncaughtSignal)
            #expect(sleeper.terminationStatus == SIGKILL)
            for h in Self.hierarchies() {
                #expect(!FileSystem.exists("\(Self.root)/\(h)/\(path)"), "\(h)/\(path) left behind")
            }
            // Removing again is a no-op.
            manager.remove(path: path)
        }
    }

    @Test func invalidCpusetThrowsAndLeavesNoDirectory() async throws {
        let manager = Cgroups.detect()
        try await Self.withTestParent { parent in
            let path = "\(parent)/bad"
            var resources = CgroupResources()
            resources.memory = 16 * 1024 * 1024
            resources.cpusetCpus = "99"
            do throws(BerthError) {
                try manager.create(path: path, resources: resources)
                Issue.record("cpuset 99 accepted on a host with \(ProcessInfo.processInfo.processorCount) CPUs")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("cpuset.cpus"))
            }
            for h in Self.hierarchies() {
                #expect(!FileSystem.exists("\(Self.root)/\(h)/\(path)"), "\(h)/\(path) left behind")
            }
        }
    }

    @Test func unlimitedResourcesLeaveKernelDefaults() async throws {
        let manager = Cgroups.detect()
        try await Self.withTestParent { parent in
            let path = "\(parent)/plain"
            try manager.create(path: path, resources: CgroupResources())
            defer { manager.remove(path: path) }
            #expect(Self.read("\(Self.root)/pids/\(path)/pids.max") == "max")
            #expect(Self.read("\(Self.root)/cpu/\(path)/cpu.cfs_quota_us") == "-1")
            // No cpuset asked for: no cpuset cgroup (the container keeps every CPU of the root cpuset).
            #expect(!FileSystem.exists("\(Self.root)/cpuset/\(path)"))
            #expect(manager.pids(path: path).isEmpty)
        }
    }
}
