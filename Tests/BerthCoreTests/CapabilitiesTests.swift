import Testing

@testable import BerthCore

struct CapabilitiesTests {
    @Test func defaultSetInNumberOrder() throws {
        let caps = try Capabilities.effective(add: [], drop: [], privileged: false)
        #expect(Set(caps) == Set(Capabilities.dockerDefault))
        #expect(caps.count == 14)
        #expect(caps.first == "CAP_CHOWN")
        #expect(caps == caps.sorted { Capabilities.all.firstIndex(of: $0)! < Capabilities.all.firstIndex(of: $1)! })
        #expect(!caps.contains("CAP_SYS_ADMIN"))
    }

    @Test func addAndDropAcceptEveryNameForm() throws {
        let caps = try Capabilities.effective(
            add: ["net_admin", "CAP_SYS_PTRACE"], drop: ["MKNOD", "cap_kill"], privileged: false)
        #expect(caps.contains("CAP_NET_ADMIN"))
        #expect(caps.contains("CAP_SYS_PTRACE"))
        #expect(!caps.contains("CAP_MKNOD"))
        #expect(!caps.contains("CAP_KILL"))
        #expect(caps.count == 14)
        // Adding a default capability again does not duplicate it.
        #expect(try Capabilities.effective(add: ["CHOWN"], drop: [], privileged: false).count == 14)
    }

    @Test func dropAllThenAdd() throws {
        #expect(
            try Capabilities.effective(add: ["chown", "NET_RAW"], drop: ["ALL"], privileged: false) == [
                "CAP_CHOWN", "CAP_NET_RAW",
            ])
        #expect(try Capabilities.effective(add: [], drop: ["all"], privileged: false).isEmpty)
    }

    @Test func addAllKeepsEverythingButTheDrops() throws {
        #expect(try Capabilities.effective(add: ["ALL"], drop: [], privileged: false) == Capabilities.all)
        let minus = try Capabilities.effective(add: ["ALL"], drop: ["NET_ADMIN"], privileged: false)
        #expect(minus == Capabilities.all.filter { $0 != "CAP_NET_ADMIN" })
        #expect(try Capabilities.effective(add: ["ALL"], drop: ["ALL"], privileged: false) == Capabilities.all)
    }

    /// moby's `TweakCapabilities` drops from the default set first, then adds: an add wins over a drop.
    @Test func addWinsOverDropOfTheSameCapability() throws {
        let caps = try Capabilities.effective(
            add: ["SYS_ADMIN", "KILL"], drop: ["SYS_ADMIN", "KILL"], privileged: false)
        #expect(caps.contains("CAP_SYS_ADMIN"))
        #expect(caps.contains("CAP_KILL"))
    }

    @Test func privilegedGetsAllRegardlessOfDrops() throws {
        #expect(try Capabilities.effective(add: [], drop: ["ALL"], privileged: true) == Capabilities.all)
        #expect(Capabilities.all.count == 41)
        #expect(Capabilities.all.last == "CAP_CHECKPOINT_RESTORE")
    }

    @Test func invalidNamesThrow() throws {
        for (add, drop) in [(["CAP_BOGUS"], [String]()), ([], ["NOT_A_CAP"]), (["CAP_"], [])] {
            do {
                _ = try Capabilities.effective(add: add, drop: drop, privileged: false)
                Issue.record("accepted \(add) \(drop)")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("invalid capability: "))
            }
        }
        #expect(try Capabilities.normalize("sys_admin") == "CAP_SYS_ADMIN")
        #expect(try Capabilities.normalize("All") == "ALL")
    }

    @Test func maskBits() throws {
        #expect(Capabilities.mask([]) == 0)
        #expect(Capabilities.mask(["CAP_CHOWN"]) == 1)
        #expect(Capabilities.mask(["CAP_CHOWN", "CAP_KILL"]) == 0b10_0001)
        #expect(Capabilities.mask(["CAP_SYS_ADMIN"]) == 1 << 21)
        #expect(Capabilities.mask(["CAP_CHECKPOINT_RESTORE"]) == 1 << 40)
        #expect(Capabilities.mask(Capabilities.all) == (1 << 41) - 1)
        #expect(Capabilities.mask(["CAP_UNKNOWN"]) == 0)
        // Docker's default set: 0xa80425fb, as /proc/<pid>/status shows for a default container.
        #expect(Capabilities.mask(try Capabilities.effective(add: [], drop: [], privileged: false)) == 0xa804_25fb)
    }
}
