import BerthCore
import BerthTestSupport
import CBerthLinux
import Foundation
import Glibc
import Testing

@testable import BerthArchive

struct TarWriterTests {
    static let entries: [TarEntry] = [
        .dir("etc"), .file("etc/hosts", "h", uid: 1234, gid: 5678, uname: "root"), .dir("bin"),
        .file("bin/busybox", "bb", mode: 0o4755), .symlink("bin/sh", to: "busybox"),
        .hardlink("bin/ls", to: "bin/busybox"),
        .charDevice("dev-null", major: 1, minor: 3), .file("x", "", xattrs: ["user.a": "1"]),
    ]

    /// Extract, write back, list: sorted, parents first, numeric owners without names, links kept.
    @Test func roundTrip() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try TarBuilder.write(Self.entries, to: root + "/in.tar")
            try LayerApplier.apply(archive: root + "/in.tar", to: dir, whiteouts: .apply)
            mkfifo(dir + "/fifo", 0o644)
            try makeSocket(dir + "/sock")

            try writeTar(root + "/out.tar") { try TarWriter.writeDirectory(dir, to: $0) }
            let listing = try TarBuilder.list(root + "/out.tar")
            #expect(
                listing.map(\.name) == [
                    "bin", "bin/busybox", "bin/ls", "bin/sh", "dev-null", "etc", "etc/hosts", "fifo", "x",
                ])
            let byName = Dictionary(uniqueKeysWithValues: listing.map { ($0.name, $0) })
            #expect(byName["etc/hosts"]?.uid == 1234 && byName["etc/hosts"]?.gid == 5678)
            #expect(listing.allSatisfy { $0.uname.isEmpty && $0.gname.isEmpty })
            #expect(byName["bin/sh"]?.type == "symlink" && byName["bin/sh"]?.linkname == "busybox")
            #expect(byName["bin/ls"]?.type == "hardlink" && byName["bin/ls"]?.linkname == "bin/busybox")
            #expect(byName["bin/busybox"]?.mode == 0o4755 && byName["bin/busybox"]?.content == "bb")
            #expect(
                byName["dev-null"]?.type == "chr" && byName["dev-null"]?.major == 1 && byName["dev-null"]?.minor == 3)
            #expect(
                byName["x"]?.pax["SCHILY.xattr.user.a"] == "1" || byName["x"]?.pax["LIBARCHIVE.xattr.user.a"] != nil)
            #expect(listing.allSatisfy { $0.pax["atime"] == nil && $0.pax["ctime"] == nil })

            // The same tree gives the same bytes.
            try writeTar(root + "/again.tar") { try TarWriter.writeDirectory(dir, to: $0) }
            #expect(FileManager.default.contentsEqual(atPath: root + "/out.tar", andPath: root + "/again.tar"))

            // And the tar extracts back to the same tree.
            let copy = try layerDir(root, "copy")
            try LayerApplier.apply(archive: root + "/out.tar", to: copy, whiteouts: .apply)
            let a = try DirectoryTree.entries(of: dir).map(\.path).filter { $0 != "sock" }
            #expect(try DirectoryTree.entries(of: copy).map(\.path) == a)
        }
    }

    /// Overlay whiteouts are skipped by default and become OCI markers on request.
    @Test func overlayWhiteouts() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try TarBuilder.write([.dir("d"), .opaque("d"), .file("d/f", "f"), .whiteout("gone")], to: root + "/in.tar")
            try LayerApplier.apply(archive: root + "/in.tar", to: dir, whiteouts: .overlay)

            try writeTar(root + "/plain.tar") { try TarWriter.writeDirectory(dir, to: $0) }
            #expect(try TarBuilder.list(root + "/plain.tar").map(\.name) == ["d", "d/f"])
            try writeTar(root + "/diff.tar") { try TarWriter.writeDirectory(dir, to: $0, overlayWhiteouts: true) }
            let listing = try TarBuilder.list(root + "/diff.tar")
            #expect(listing.map(\.name) == ["d", "d/.wh..wh..opq", "d/f", ".wh.gone"])
            #expect(!listing.contains { $0.pax.keys.contains { $0.contains("trusted.overlay") } })

            // Applied to a flat tree, the diff deletes what it says.
            let flat = try layerDir(root, "flat")
            try TarBuilder.write([.file("gone", "g"), .dir("d"), .file("d/old", "o")], to: root + "/base.tar")
            try LayerApplier.apply(archive: root + "/base.tar", to: flat, whiteouts: .apply)
            try LayerApplier.apply(archive: root + "/diff.tar", to: flat, whiteouts: .apply)
            #expect(try DirectoryTree.entries(of: flat).map(\.path) == ["d", "d/f"])
        }
    }

    /// `write(entries:)` uses the given names and order (a merged tree from several layers).
    @Test func explicitEntries() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try "one".write(toFile: dir + "/1", atomically: false, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
            let entries = [
                TreeEntry(path: "top", hostPath: dir + "/sub"), TreeEntry(path: "top/file", hostPath: dir + "/1"),
            ]
            try writeTar(root + "/out.tar") { try TarWriter.write(entries: entries, to: $0) }
            let listing = try TarBuilder.list(root + "/out.tar")
            #expect(listing.map(\.name) == ["top", "top/file"])
            #expect(listing.last?.content == "one")
        }
    }

    /// TreeCopier copies a tree faithfully (used by the vfs driver).
    @Test func treeCopier() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try TarBuilder.write(Self.entries + [.dir("ro", mode: 0o555)], to: root + "/in.tar")
            try LayerApplier.apply(archive: root + "/in.tar", to: dir, whiteouts: .apply)
            let bytes = try TreeCopier.copy(from: dir, to: root + "/copy")
            #expect(bytes == 3)
            let a = try DirectoryTree.entries(of: dir)
            let b = try DirectoryTree.entries(of: root + "/copy")
            #expect(a.map(\.path) == b.map(\.path))
            for (x, y) in zip(a, b) {
                let s = try lstatOf(x.hostPath)
                let t = try lstatOf(y.hostPath)
                #expect(s.st_mode == t.st_mode && s.st_uid == t.st_uid && s.st_gid == t.st_gid, "\(x.path)")
                #expect(s.st_rdev == t.st_rdev && s.st_size == t.st_size && s.st_nlink == t.st_nlink, "\(x.path)")
            }
            #expect(xattr(root + "/copy/x", "user.a") == "1")
            let error = try #require(throws: BerthError.self) { try TreeCopier.copy(from: dir, to: root + "/copy") }
            #expect(error.code == .conflict)
        }
    }
}

private func writeTar(_ path: String, _ body: (Int32) throws -> Void) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    try #require(fd >= 0)
    defer { close(fd) }
    try body(fd)
}

private func makeSocket(_ path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
    }
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    try #require(rc == 0, "bind: errno \(errno)")
}
