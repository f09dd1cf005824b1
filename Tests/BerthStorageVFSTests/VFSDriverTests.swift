import BerthArchive
import BerthCore
import BerthTestSupport
import CBerthLinux
import Foundation
import Glibc
import Testing

@testable import BerthStorageVFS

struct VFSDriverTests {
    let conformance = StorageDriverConformance { try VFSDriver(home: $0) }

    @Test func baseLayer() async throws { try await conformance.baseLayer() }
    @Test func whiteoutsAndOpaqueDirectories() async throws { try await conformance.whiteoutsAndOpaqueDirectories() }
    @Test func prepareReturnsMounts() async throws { try await conformance.prepareReturnsMounts() }
    @Test func removeParentWithChildConflicts() async throws { try await conformance.removeParentWithChildConflicts() }
    @Test func unknownAndDuplicateLayers() async throws { try await conformance.unknownAndDuplicateLayers() }
    @Test func emptyAndCompressedLayers() async throws { try await conformance.emptyAndCompressedLayers() }
    @Test func maliciousLayersAreRefused() async throws { try await conformance.maliciousLayersAreRefused() }

    /// A child layer is a faithful copy of its parent: modes, owners, times, symlinks, hardlinks, devices, xattrs.
    @Test func childIsFaithfulCopy() async throws {
        try await withTemporaryDirectory { root in
            let driver = try VFSDriver(home: root + "/vfs")
            try TarBuilder.write(
                [
                    .dir("d", mode: 0o555, uid: 7, gid: 8), .file("d/f", "data", mode: 0o4711, uid: 1234, gid: 5678),
                    .hardlink("d/f2", to: "d/f"), .symlink("abs", to: "/etc/passwd"), .symlink("rel", to: "d/f"),
                    .charDevice("null", major: 1, minor: 3), .fifo("pipe"),
                    .file("x", "x", xattrs: ["user.test": "value"]),
                ], to: root + "/l.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/l.tar")
            try await driver.createLayer(id: "l2", parent: "l1", applying: nil)
            let t1 = try await driver.mergedTree(id: "l1")
            let t2 = try await driver.mergedTree(id: "l2")
            #expect(t1.map(\.path) == t2.map(\.path))
            for (a, b) in zip(t1, t2) {
                let s1 = try lstatOf(a.hostPath)
                let s2 = try lstatOf(b.hostPath)
                #expect(s1.st_mode == s2.st_mode, "\(a.path) mode")
                #expect(s1.st_uid == s2.st_uid && s1.st_gid == s2.st_gid, "\(a.path) owner")
                #expect(s1.st_rdev == s2.st_rdev, "\(a.path) rdev")
                #expect(s1.st_size == s2.st_size, "\(a.path) size")
                if s1.st_mode & S_IFMT != S_IFLNK { #expect(s1.st_mtim.tv_sec == s2.st_mtim.tv_sec, "\(a.path) mtime") }
            }
            let byPath = Dictionary(uniqueKeysWithValues: t2.map { ($0.path, $0.hostPath) })
            let f = try lstatOf(byPath["d/f"])
            let f2 = try lstatOf(byPath["d/f2"])
            #expect(f.st_ino == f2.st_ino && f.st_nlink == 2)
            #expect(f.st_mode & 0o7777 == 0o4711 && f.st_uid == 1234 && f.st_gid == 5678)
            #expect(try lstatOf(byPath["d"]).st_mode & 0o7777 == 0o555)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: byPath["abs"] ?? "") == "/etc/passwd")
            let null = try lstatOf(byPath["null"])
            #expect(null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == makedevice(1, 3))
            #expect(try lstatOf(byPath["pipe"]).st_mode & S_IFMT == S_IFIFO)
            var value = [UInt8](repeating: 0, count: 16)
            let n = berth_lgetxattr(byPath["x"] ?? "", "user.test", &value, value.count)
            #expect(n == 5 && String(decoding: value[0..<max(n, 0)], as: UTF8.self) == "value")
        }
    }

    /// Applying a layer flattens it: whiteouts delete, an opaque dir keeps only the new layer's files.
    @Test func childLayerFlattensWhiteouts() async throws {
        try await withTemporaryDirectory { root in
            let driver = try VFSDriver(home: root + "/vfs")
            try TarBuilder.write([.dir("a"), .file("a/x", "1"), .file("a/y", "2")], to: root + "/1.tar")
            try TarBuilder.write([.opaque("a"), .file("a/z", "3"), .whiteout("gone")], to: root + "/2.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/1.tar")
            try await driver.createLayer(id: "l2", parent: "l1", applying: root + "/2.tar")
            let dir = root + "/vfs/dir/l2"
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/a") == ["z"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/vfs/dir/l1/a").sorted() == ["x", "y"])
        }
    }

    /// The prepared layer bind-mounts and is writable; the mount goes away afterwards.
    @Test func bindMountOfPreparedLayer() async throws {
        try await withTemporaryDirectory { root in
            let driver = try VFSDriver(home: root + "/vfs")
            try TarBuilder.write([.file("hello", "world")], to: root + "/1.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/1.tar")
            let mounts = try await driver.prepare(id: "c1", parent: "l1")
            #expect(mounts == [MountSpec(type: "bind", source: root + "/vfs/dir/c1", options: ["rbind"])])
            let target = root + "/rootfs"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            let spec = try #require(mounts.first)
            #expect(mount(spec.source, target, nil, UInt(MS_BIND | MS_REC), nil) == 0, "mount: errno \(errno)")
            defer { umount2(target, Int32(MNT_DETACH)) }
            #expect(try String(contentsOfFile: target + "/hello", encoding: .utf8) == "world")
            try "new".write(toFile: target + "/new", atomically: false, encoding: .utf8)
            #expect(FileManager.default.fileExists(atPath: root + "/vfs/dir/c1/new"))
            #expect(!FileManager.default.fileExists(atPath: root + "/vfs/dir/l1/new"))
            #expect(umount2(target, 0) == 0)
            #expect(mountPoints(under: root).isEmpty)
        }
    }

    /// Leftovers of an interrupted create (a dir without meta) are removed when the driver opens.
    @Test func initRemovesLeftovers() async throws {
        try await withTemporaryDirectory { root in
            _ = try VFSDriver(home: root + "/vfs")
            try FileManager.default.createDirectory(atPath: root + "/vfs/dir/half", withIntermediateDirectories: false)
            let driver = try VFSDriver(home: root + "/vfs")
            #expect(!FileManager.default.fileExists(atPath: root + "/vfs/dir/half"))
            try await driver.createLayer(id: "half", parent: nil, applying: nil)
            #expect(await driver.exists(id: "half"))
        }
    }
}

private func makedevice(_ major: UInt64, _ minor: UInt64) -> UInt64 {
    ((major & 0xFFF) << 8) | (minor & 0xFF) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32)
}
