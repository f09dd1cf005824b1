import BerthCore
import BerthOS
import BerthTestSupport
import Foundation
import Glibc
import Testing

@testable import BerthCgroups

/// CgroupV2Manager on a cgroup2 mount of its own. On this hybrid host the v2 hierarchy has no resource
/// controllers (they are bound to v1), so the test covers the hierarchy itself: create, attach, pids, kill, remove.
struct CgroupV2ManagerTests {
    /// Mounts cgroup2 on a temporary directory, runs `body` with the mount point, unmounts and removes it.
    static func withCgroup2Mount(_ body: (String) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let mountPoint = dir + "/cgroup2"
            try FileSystem.createDirectory(mountPoint)
            guard mount("none", mountPoint, "cgroup2", 0, nil) == 0 else {
                throw TestSupportError("mount cgroup2 on \(mountPoint): errno \(errno)")
            }
            defer { umount2(mountPoint, Int32(MNT_DETACH)) }
            try await body(mountPoint)
        }
    }

    @Test func detectRecognizesCgroup2AndOtherFilesystems() async throws {
        try await Self.withCgroup2Mount { root in
            let manager = Cgroups.detect(root: root)
            #expect(manager.version == 2)
            #expect(manager is CgroupV2Manager)
        }
        try withTemporaryDirectory { dir in
            #expect(Cgroups.detect(root: dir).version == 1)
        }
    }

    @Test func createAttachAndRemove() async throws {
        try await Self.withCgroup2Mount { root in
            let manager = CgroupV2Manager(root: root)
            let parent = "berth-test-\(UInt32.random(in: 0...UInt32.max))"
            let path = "\(parent)/c1"
            defer {
                rmdir("\(root)/\(path)")
                rmdir("\(root)/\(parent)")
            }
            try manager.create(path: path, resources: CgroupResources())
            #expect(FileSystem.isDirectory("\(root)/\(path)"))
            #expect(manager.pids(path: path).isEmpty)

            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
            sleeper.arguments = ["30"]
            try sleeper.run()
            defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) } }
            try manager.attach(path: path, pid: sleeper.processIdentifier)
            #expect(manager.pids(path: path) == [sleeper.processIdentifier])
            let membership = (try? FileSystem.readText("/proc/\(sleeper.processIdentifier)/cgroup")) ?? ""
            #expect(membership.contains("0::/\(path)\n"))
            #expect(!manager.oomKilled(path: path))

            // cgroup.kill ends the process, then the directory goes.
            manager.remove(path: path)
            sleeper.waitUntilExit()
            #expect(sleeper.terminationReason == .uncaughtSignal)
            #expect(!FileSystem.exists("\(root)/\(path)"))
            #expect(FileSystem.isDirectory("\(root)/\(parent)"))
        }
    }

    /// A limit the hierarchy cannot take (no memory controller here) fails and leaves no cgroup behind.
    @Test func failedLimitLeavesNoDirectory() async throws {
        try await Self.withCgroup2Mount { root in
            let available = (try? FileSystem.readText("\(root)/cgroup.controllers")) ?? ""
            try #require(!available.contains("memory"), "memory is a v2 controller here: this test needs a hybrid host")
            let manager = CgroupV2Manager(root: root)
            let parent = "berth-test-\(UInt32.random(in: 0...UInt32.max))"
            defer { rmdir("\(root)/\(parent)") }
            var resources = CgroupResources()
            resources.memory = 32 * 1024 * 1024
            #expect(throws: BerthError.self) { try manager.create(path: "\(parent)/c1", resources: resources) }
            #expect(!FileSystem.exists("\(root)/\(parent)/c1"))
        }
    }
}
