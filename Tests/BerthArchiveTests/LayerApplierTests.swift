import BerthCore
import BerthTestSupport
import CBerthLinux
import Foundation
import Glibc
import Testing

@testable import BerthArchive

struct LayerApplierTests {
    /// Overlay mode: `.wh.NAME` becomes a 0:0 character device, `.wh..wh..opq` the opaque xattr; the markers
    /// themselves are not written, and a whiteout whose directory is missing creates it.
    @Test func overlayWhiteouts() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try TarBuilder.write(
                [
                    .dir("etc"), .whiteout("etc/gone"), .dir("opq"), .opaque("opq"), .file("opq/new", "n"),
                    .whiteout("missing/parent/x"),
                ], to: root + "/l.tar")
            let bytes = try LayerApplier.apply(archive: root + "/l.tar", to: dir, whiteouts: .overlay)
            #expect(bytes == 1)
            let gone = try lstatOf(dir + "/etc/gone")
            #expect(gone.st_mode & S_IFMT == S_IFCHR && gone.st_rdev == 0)
            #expect(OverlayMarkers.isWhiteout(path: dir + "/etc/gone"))
            #expect(OverlayMarkers.isOpaque(dir + "/opq"))
            #expect(!OverlayMarkers.isOpaque(dir + "/etc"))
            #expect(OverlayMarkers.isWhiteout(path: dir + "/missing/parent/x"))
            let names = try FileManager.default.subpathsOfDirectory(atPath: dir).sorted()
            #expect(!names.contains { $0.contains(".wh.") })
        }
    }

    /// Apply mode: whiteouts delete (recursively), opaque dirs keep only what this layer extracted, whatever the
    /// order of entries in the tar.
    @Test func applyWhiteouts() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            try TarBuilder.write(
                [
                    .dir("etc"), .file("etc/gone", "g"), .file("etc/keep", "k"), .dir("tree"), .dir("tree/sub"),
                    .file("tree/sub/f", "f"), .dir("o1"), .file("o1/old", "o"), .dir("o1/d"), .file("o1/d/old", "o"),
                    .dir("o2"), .file("o2/old", "o"),
                ], to: root + "/1.tar")
            try LayerApplier.apply(archive: root + "/1.tar", to: dir, whiteouts: .apply)
            try TarBuilder.write(
                [
                    .whiteout("etc/gone"), .whiteout("tree"),
                    .dir("o1"), .opaque("o1"), .file("o1/new", "n"), .file("o1/d/new", "n"),  // marker first
                    .file("o2/new", "n"), .opaque("o2"),  // marker last
                    .file("etc/again", "a"), .whiteout("etc/again"),  // a whiteout never hides its own layer
                ], to: root + "/2.tar")
            try LayerApplier.apply(archive: root + "/2.tar", to: dir, whiteouts: .apply)
            let names = try FileManager.default.subpathsOfDirectory(atPath: dir).sorted()
            #expect(names == ["etc", "etc/again", "etc/keep", "o1", "o1/d", "o1/d/new", "o1/new", "o2", "o2/new"])
        }
    }

    /// Numeric owners (never looked up by name), modes (incl. setuid and a 0555 dir), times, xattrs (without
    /// `trusted.overlay.*`), symlinks, hardlinks, devices, non-ASCII names, byte count.
    @Test func metadataIsKept() throws {
        try withTemporaryDirectory { root in
            let dir = try layerDir(root)
            var old = TarEntry.file("old", "x")
            old.mtime = 978_307_200
            try TarBuilder.write(
                [
                    .file("owned", "abc", mode: 0o640, uid: 1234, gid: 5678, uname: "root"),
                    .file("suid", "", mode: 0o4755), .dir("ro", mode: 0o555), .file("ro/inner", "i"), old,
                    .file("attrs", "", xattrs: ["user.test": "v", "trusted.overlay.opaque": "y"]),
                    .dir("attrdir", xattrs: ["trusted.overlay.opaque": "y"]),
                    .symlink("abs", to: "/etc/passwd"), .hardlink("link", to: "owned"),
                    .charDevice("null", major: 1, minor: 3), .file("héllo-ü", "u"),
                ], to: root + "/l.tar")
            let bytes = try LayerApplier.apply(archive: root + "/l.tar", to: dir, whiteouts: .overlay)
            #expect(bytes == 3 + 1 + 1 + 1)
            let owned = try lstatOf(dir + "/owned")
            #expect(owned.st_uid == 1234 && owned.st_gid == 5678 && owned.st_mode & 0o7777 == 0o640)
            let link = try lstatOf(dir + "/link")
            #expect(owned.st_nlink == 2 && link.st_ino == owned.st_ino)
            #expect(try lstatOf(dir + "/suid").st_mode & 0o7777 == 0o4755)
            #expect(try lstatOf(dir + "/ro").st_mode & 0o7777 == 0o555)
            #expect(try lstatOf(dir + "/old").st_mtim.tv_sec == 978_307_200)
            #expect(xattr(dir + "/attrs", "user.test") == "v")
            #expect(xattr(dir + "/attrs", "trusted.overlay.opaque") == nil)
            #expect(!OverlayMarkers.isOpaque(dir + "/attrdir"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/abs") == "/etc/passwd")
            #expect(try lstatOf(dir + "/null").st_mode & S_IFMT == S_IFCHR)
            #expect(FileManager.default.fileExists(atPath: dir + "/héllo-ü"))
        }
    }

    @Test func compressedAndInvalidArchives() throws {
        try withTemporaryDirectory { root in
            try TarBuilder.write([.file("a", "gz")], to: root + "/l.tgz", compression: .gzip)
            try TarBuilder.write([.file("a", "xz")], to: root + "/l.txz", compression: .xz)
            let d1 = try layerDir(root, "d1")
            try LayerApplier.apply(archive: root + "/l.tgz", to: d1, whiteouts: .apply)
            #expect(try String(contentsOfFile: d1 + "/a", encoding: .utf8) == "gz")
            let d2 = try layerDir(root, "d2")
            try LayerApplier.apply(archive: root + "/l.txz", to: d2, whiteouts: .apply)
            #expect(try String(contentsOfFile: d2 + "/a", encoding: .utf8) == "xz")

            _ = try TarBuilder.python(
                "import sys, zipfile; z = zipfile.ZipFile(sys.stdin.read(), 'w'); z.writestr('a', 'zip'); z.close()",
                input: Data((root + "/l.zip").utf8))
            let error = try #require(throws: BerthError.self) {
                try LayerApplier.apply(archive: root + "/l.zip", to: d2, whiteouts: .apply)
            }
            #expect(error.code == .invalidArgument)
            let missing = try #require(throws: BerthError.self) {
                try LayerApplier.apply(archive: root + "/none.tar", to: d2, whiteouts: .apply)
            }
            #expect(missing.code == .notFound)
        }
    }

    /// Every malicious layer is refused with `.invalidArgument` naming the entry, in both modes, and nothing lands
    /// outside the layer directory.
    @Test(arguments: [WhiteoutMode.overlay, .apply])
    func maliciousLayers(mode: WhiteoutMode) throws {
        try withTemporaryDirectory { root in
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            try "secret".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
            let cases: [([TarEntry], String)] = [
                ([.file("../../escaped", "x")], #"entry "../../escaped" escapes the root"#),
                ([.file("a/../../escaped", "x")], #"entry "a/../../escaped" escapes the root"#),
                ([.file(outside + "/escaped", "x")], #"entry "\#(outside)/escaped" is an absolute path"#),
                ([.hardlink("h", to: "../../etc/passwd")], #"hardlink "h" -> "../../etc/passwd" escapes the root"#),
                ([.hardlink("h", to: "/etc/passwd")], #"hardlink "h" -> "/etc/passwd" is an absolute path"#),
                ([.symlink("evil", to: outside), .file("evil/escaped", "x")], #"through the symlink "evil""#),
                ([.symlink("evil", to: "../.."), .dir("evil/sub")], #"through the symlink "evil""#),
                ([.symlink("evil", to: outside), .hardlink("h", to: "evil/secret")], #"through the symlink "evil""#),
                ([.symlink("evil", to: outside), .whiteout("evil/secret")], #"through the symlink "evil""#),
                ([.symlink("evil", to: outside), .opaque("evil")], #"through the symlink "evil""#),
                ([.dir("d"), .symlink("d/l", to: "/"), .file("d/l/etc/escaped", "x")], #"through the symlink "d/l""#),
                ([.file(".wh...", "")], #"whiteout ".wh..." names no file"#),
            ]
            for (index, (entries, message)) in cases.enumerated() {
                let dir = try layerDir(root, "layer\(index)/a/b")
                try TarBuilder.write(entries, to: root + "/evil\(index).tar")
                let error = try #require(throws: BerthError.self) {
                    try LayerApplier.apply(archive: root + "/evil\(index).tar", to: dir, whiteouts: mode)
                }
                #expect(error.code == .invalidArgument, "\(error)")
                #expect(error.message.hasPrefix("invalid layer: ") && error.message.contains(message), "\(error)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["secret"])
            #expect(try String(contentsOfFile: outside + "/secret", encoding: .utf8) == "secret")
            let all = try FileManager.default.subpathsOfDirectory(atPath: root)
            #expect(!all.contains { $0.hasSuffix("escaped") }, "\(all.filter { $0.hasSuffix("escaped") })")
        }
    }

    /// A symlink already in the directory (a lower layer in apply mode) is never written through.
    @Test func lowerSymlinkIsNotFollowed() throws {
        try withTemporaryDirectory { root in
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            let dir = try layerDir(root)
            try FileManager.default.createSymbolicLink(atPath: dir + "/lib", withDestinationPath: outside)
            try TarBuilder.write([.file("lib/x", "x")], to: root + "/l.tar")
            let error = try #require(throws: BerthError.self) {
                try LayerApplier.apply(archive: root + "/l.tar", to: dir, whiteouts: .apply)
            }
            #expect(error.code == .invalidArgument)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
            // A directory entry for the symlink's own name replaces the symlink.
            try TarBuilder.write([.dir("lib"), .file("other", "o")], to: root + "/2.tar")
            try LayerApplier.apply(archive: root + "/2.tar", to: dir, whiteouts: .apply)
            #expect(try lstatOf(dir + "/lib").st_mode & S_IFMT == S_IFDIR)
        }
    }
}

/// Creates `root/name` and returns it.
func layerDir(_ root: String, _ name: String = "layer") throws -> String {
    let dir = root + "/" + name
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The value of xattr `name` on `path`, or nil.
func xattr(_ path: String, _ name: String) -> String? {
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = berth_lgetxattr(path, name, &buffer, buffer.count)
    return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
}
