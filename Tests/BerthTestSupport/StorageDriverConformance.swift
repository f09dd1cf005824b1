import BerthCore
import Foundation
import Glibc

/// The shared conformance suite every `StorageDriver` passes (run as root on the real kernel).
///
/// Each check makes its own temporary root, builds a driver on `<root>/storage` with the factory, and removes
/// everything afterwards. A failed expectation throws `TestSupportError`, which fails the calling `@Test`:
///
/// ```swift
/// @Test func whiteouts() async throws {
///     try await StorageDriverConformance { try VFSDriver(home: $0) }.whiteoutsAndOpaqueDirectories()
/// }
/// ```
public struct StorageDriverConformance: Sendable {
    /// Makes a driver whose home is the given (not yet existing) directory.
    public typealias Factory = @Sendable (String) throws -> any StorageDriver

    private let makeDriver: Factory

    public init(_ makeDriver: @escaping Factory) {
        self.makeDriver = makeDriver
    }

    /// Runs every check in turn.
    public func runAll() async throws {
        try await baseLayer()
        try await whiteoutsAndOpaqueDirectories()
        try await prepareReturnsMounts()
        try await removeParentWithChildConflicts()
        try await unknownAndDuplicateLayers()
        try await emptyAndCompressedLayers()
        try await maliciousLayersAreRefused()
    }

    /// A base layer from a tar: files, modes, numeric owners and symlinks show in `mergedTree`.
    public func baseLayer() async throws {
        try await withDriver { root, driver in
            let tar = root + "/base.tar"
            try TarBuilder.write(Self.baseEntries, to: tar)
            let size = try await driver.createLayer(id: "base", parent: nil, applying: tar)
            try require(size == Int64("127.0.0.1 localhost\n".utf8.count + "#!busybox".utf8.count + 4), "size \(size)")
            try require(await driver.exists(id: "base"), "base layer does not exist after createLayer")
            try require(try await driver.usage(id: "base") >= size, "usage smaller than the layer content")

            let tree = try await driver.mergedTree(id: "base")
            try requireParentsFirst(tree)
            try require(
                Set(tree.map(\.path))
                    == ["bin", "bin/busybox", "bin/sh", "etc", "etc/hosts", "home", "home/user", "home/user/notes"],
                "unexpected base tree \(tree.map(\.path))")
            let byPath = Dictionary(uniqueKeysWithValues: tree.map { ($0.path, $0.hostPath) })
            try require(try read(byPath["etc/hosts"]) == "127.0.0.1 localhost\n", "etc/hosts content")
            try require(try linkTarget(byPath["bin/sh"]) == "busybox", "bin/sh is not the symlink to busybox")
            let notes = try lstatOf(byPath["home/user/notes"])
            try require(notes.st_uid == 1000 && notes.st_gid == 1000, "owner is not numeric 1000:1000")
            try require(notes.st_mode & 0o7777 == 0o600, "mode of notes")
            let user = try lstatOf(byPath["home/user"])
            try require(user.st_mode & 0o7777 == 0o750 && user.st_uid == 1000, "mode/owner of home/user")
            try require(try lstatOf(byPath["bin/busybox"]).st_mode & 0o7777 == 0o4755, "setuid mode of busybox")
        }
    }

    /// A whiteout hides a lower file, a directory whiteout hides a lower tree, an opaque directory hides the lower
    /// content of that directory, and a higher layer can bring names back.
    public func whiteoutsAndOpaqueDirectories() async throws {
        try await withDriver { root, driver in
            try await createLayer(
                driver, root, "l1", nil,
                [
                    .dir("etc"), .file("etc/keep", "k"), .file("etc/gone", "g"),
                    .dir("opq"), .file("opq/old", "o"), .dir("opq/sub"), .file("opq/sub/deep", "d"),
                    .dir("dirgone"), .file("dirgone/f", "f"), .dir("re"), .file("re/old", "o"),
                ])
            try await createLayer(
                driver, root, "l2", "l1",
                [
                    .whiteout("etc/gone"), .file("etc/added", "a"),
                    .dir("opq"), .opaque("opq"), .file("opq/new", "n"),
                    .whiteout("dirgone"), .whiteout("re"), .dir("re"), .file("re/new", "n"),
                ])
            try await createLayer(
                driver, root, "l3", "l2",
                [
                    .dir("dirgone"), .file("dirgone/again", "again"), .file("etc/gone", "back"),
                ])

            let t1 = try await driver.mergedTree(id: "l1")
            try require(
                Set(t1.map(\.path)) == [
                    "etc", "etc/keep", "etc/gone", "opq", "opq/old", "opq/sub", "opq/sub/deep", "dirgone", "dirgone/f",
                    "re", "re/old",
                ], "l1 changed by its children: \(t1.map(\.path))")

            let t2 = try await driver.mergedTree(id: "l2")
            try requireParentsFirst(t2)
            try require(
                t2.map(\.path) == ["etc", "etc/added", "etc/keep", "opq", "opq/new", "re", "re/new"],
                "unexpected l2 tree \(t2.map(\.path))")
            let p2 = Dictionary(uniqueKeysWithValues: t2.map { ($0.path, $0.hostPath) })
            try require(try read(p2["etc/keep"]) == "k", "etc/keep from l1")
            try require(try read(p2["opq/new"]) == "n", "opq/new from l2")

            let t3 = try await driver.mergedTree(id: "l3")
            try require(
                t3.map(\.path) == [
                    "dirgone", "dirgone/again", "etc", "etc/added", "etc/gone", "etc/keep", "opq", "opq/new", "re",
                    "re/new",
                ],
                "unexpected l3 tree \(t3.map(\.path))")
            let p3 = Dictionary(uniqueKeysWithValues: t3.map { ($0.path, $0.hostPath) })
            try require(try read(p3["etc/gone"]) == "back", "etc/gone re-added by l3")

            _ = try await driver.prepare(id: "c1", parent: "l2")
            let tc = try await driver.mergedTree(id: "c1")
            try require(tc.map(\.path) == t2.map(\.path), "container layer does not see its parent: \(tc.map(\.path))")
        }
    }

    /// `prepare` makes a layer that exists and whose mounts match `mounts(for:)`; without a parent it is empty.
    public func prepareReturnsMounts() async throws {
        try await withDriver { root, driver in
            try await createLayer(driver, root, "img", nil, [.file("hello", "world")])
            let mounts = try await driver.prepare(id: "ctr", parent: "img")
            try require(!mounts.isEmpty, "prepare returned no mounts")
            try require(await driver.exists(id: "ctr"), "prepared layer does not exist")
            try require(try await driver.mounts(for: "ctr") == mounts, "mounts(for:) differs from prepare")
            try require(!(try await driver.mounts(for: "img")).isEmpty, "no mounts for an image layer")
            try require(try await driver.mergedTree(id: "ctr").map(\.path) == ["hello"], "container tree")

            let scratch = try await driver.prepare(id: "scratch", parent: nil)
            try require(!scratch.isEmpty, "prepare without parent returned no mounts")
            try require(try await driver.mergedTree(id: "scratch").isEmpty, "scratch layer is not empty")
            _ = await driver.info()
            _ = await driver.metadata(id: "ctr")
        }
    }

    /// Removing a layer with a child is `.conflict`; children first, then the parent, works.
    public func removeParentWithChildConflicts() async throws {
        try await withDriver { root, driver in
            try await createLayer(driver, root, "p", nil, [.file("a", "1")])
            try await createLayer(driver, root, "child", "p", [.file("b", "2")])
            _ = try await driver.prepare(id: "ctr", parent: "child")
            try await requireError(.conflict, "remove of a parent with a child") { try await driver.remove(id: "p") }
            try await requireError(.conflict, "remove of a layer with a container") {
                try await driver.remove(id: "child")
            }
            try await driver.remove(id: "ctr")
            try await driver.remove(id: "child")
            try await driver.remove(id: "p")
            for id in ["p", "child", "ctr"] {
                try require(!(await driver.exists(id: id)), "\(id) still exists after remove")
            }
        }
    }

    /// Unknown layers are `.notFound`, duplicate IDs `.conflict`, bad IDs `.invalidArgument`.
    public func unknownAndDuplicateLayers() async throws {
        try await withDriver { root, driver in
            try await requireError(.notFound, "remove of an unknown layer") { try await driver.remove(id: "nope") }
            try await requireError(.notFound, "mounts of an unknown layer") { _ = try await driver.mounts(for: "nope") }
            try await requireError(.notFound, "tree of an unknown layer") {
                _ = try await driver.mergedTree(id: "nope")
            }
            try await requireError(.notFound, "create on an unknown parent") {
                try await driver.createLayer(id: "x", parent: "nope", applying: nil)
            }
            try require(!(await driver.exists(id: "x")), "layer on an unknown parent exists")
            try await driver.createLayer(id: "x", parent: nil, applying: nil)
            try await requireError(.conflict, "duplicate layer id") {
                try await driver.createLayer(id: "x", parent: nil, applying: nil)
            }
            try await requireError(.conflict, "duplicate prepared id") {
                _ = try await driver.prepare(id: "x", parent: nil)
            }
            try await requireError(.invalidArgument, "layer id with a slash") {
                try await driver.createLayer(id: "../x", parent: nil, applying: nil)
            }
        }
    }

    /// A layer without an archive is empty; gzip and xz layers are read.
    public func emptyAndCompressedLayers() async throws {
        try await withDriver { root, driver in
            try require(try await driver.createLayer(id: "empty", parent: nil, applying: nil) == 0, "empty size")
            try require(try await driver.mergedTree(id: "empty").isEmpty, "empty layer has files")
            try TarBuilder.write([.file("gz", "g")], to: root + "/l.tar.gz", compression: .gzip)
            try await driver.createLayer(id: "gz", parent: "empty", applying: root + "/l.tar.gz")
            try TarBuilder.write([.file("xz", "x")], to: root + "/l.tar.xz", compression: .xz)
            try await driver.createLayer(id: "xz", parent: "gz", applying: root + "/l.tar.xz")
            try require(try await driver.mergedTree(id: "xz").map(\.path) == ["gz", "xz"], "compressed layers")
        }
    }

    /// Malicious layers are refused with `.invalidArgument`, write nothing outside the layer, and leave no layer.
    public func maliciousLayersAreRefused() async throws {
        try await withDriver { root, driver in
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try "secret".write(toFile: outside + "/secret", atomically: false, encoding: .utf8)
            let marker = "escaped-\(UUID().uuidString)"
            try await createLayer(driver, root, "base", nil, [.dir("etc"), .symlink("lowerlink", to: outside)])

            let evil: [(String, [TarEntry])] = [
                ("dot-dot", [.file("../../../../\(marker)", "x")]),
                ("dot-dot-inside", [.dir("a"), .file("a/../../../../../\(marker)", "x")]),
                ("absolute", [.file(outside + "/\(marker)", "x")]),
                ("hardlink-dot-dot", [.hardlink("passwd", to: "../../../../../../etc/passwd")]),
                ("hardlink-absolute", [.hardlink("passwd", to: "/etc/passwd")]),
                ("symlink-then-file", [.symlink("evil", to: outside), .file("evil/\(marker)", "x")]),
                ("relative-symlink-then-file", [.symlink("evil", to: "../../../../.."), .file("evil/\(marker)", "x")]),
                ("symlink-then-dir", [.symlink("evil", to: outside), .dir("evil/\(marker)")]),
                ("hardlink-through-symlink", [.symlink("evil", to: outside), .hardlink("stolen", to: "evil/secret")]),
                ("whiteout-through-symlink", [.symlink("evil", to: outside), .whiteout("evil/secret")]),
                ("opaque-through-symlink", [.symlink("evil", to: outside), .opaque("evil")]),
                ("whiteout-dot", [.file("etc/.wh..", "")]),
                ("whiteout-dot-dot", [.file("etc/.wh...", "")]),
            ]
            for (index, (label, entries)) in evil.enumerated() {
                let tar = root + "/evil-\(index).tar"
                try TarBuilder.write(entries, to: tar)
                for parent in [nil, "base"] as [String?] {
                    let id = "evil\(index)-\(parent ?? "none")"
                    try await requireError(.invalidArgument, "malicious layer \(label)") {
                        try await driver.createLayer(id: id, parent: parent, applying: tar)
                    }
                    try require(!(await driver.exists(id: id)), "refused layer \(label) exists")
                    // The ID is free again: nothing of the failed layer is left.
                    try await driver.createLayer(id: id, parent: parent, applying: nil)
                    try await driver.remove(id: id)
                }
            }

            // A symlink from a lower layer: refused or written inside the layer, never through the link.
            let cross = root + "/cross.tar"
            try TarBuilder.write([.file("lowerlink/\(marker)", "x"), .whiteout("lowerlink/secret")], to: cross)
            do {
                try await driver.createLayer(id: "cross", parent: "base", applying: cross)
            } catch let error as BerthError {
                try require(error.code == .invalidArgument, "cross-layer symlink: \(error)")
            }

            try require(
                (try FileManager.default.contentsOfDirectory(atPath: outside)) == ["secret"],
                "something was written to the outside directory")
            try require(try String(contentsOfFile: outside + "/secret", encoding: .utf8) == "secret", "secret changed")
            try require(try String(contentsOfFile: "/etc/passwd", encoding: .utf8).hasPrefix("root:"), "passwd")
            for dir in ["/", "/tmp", "/var", "/var/tmp", root, root + "/storage"] {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                try require(!names.contains(marker), "a malicious entry escaped to \(dir)")
            }
            let everything = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
            try require(
                !everything.contains { $0.hasSuffix(marker) && !$0.contains("lowerlink") },
                "a malicious entry was written: \(everything.filter { $0.hasSuffix(marker) })")
        }
    }

    // MARK: - Helpers

    static let baseEntries: [TarEntry] = [
        .dir("etc"), .file("etc/hosts", "127.0.0.1 localhost\n"),
        .dir("bin"), .file("bin/busybox", "#!busybox", mode: 0o4755), .symlink("bin/sh", to: "busybox"),
        .dir("home"), .dir("home/user", mode: 0o750, uid: 1000, gid: 1000),
        .file("home/user/notes", "note", mode: 0o600, uid: 1000, gid: 1000, uname: "root"),
    ]

    private func withDriver(_ body: (String, any StorageDriver) async throws -> Void) async throws {
        try await withTemporaryDirectory { root in
            let driver = try makeDriver(root + "/storage")
            do {
                try await driver.start()
                try await body(root, driver)
            } catch {
                await driver.shutdown()
                throw error
            }
            await driver.shutdown()
        }
    }

    private func createLayer(
        _ driver: any StorageDriver, _ root: String, _ id: String, _ parent: String?, _ entries: [TarEntry]
    ) async throws {
        let tar = root + "/\(id).tar"
        try TarBuilder.write(entries, to: tar)
        try await driver.createLayer(id: id, parent: parent, applying: tar)
    }
}

/// Requires `body` to throw a `BerthError` with `code`.
public func requireError(
    _ code: BerthError.Code, _ what: String, file: StaticString = #fileID, line: UInt = #line,
    _ body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch let error as BerthError {
        try require(
            error.code == code, "\(what): expected \(code), got \(error.code): \(error)", file: file, line: line)
        return
    }
    throw TestSupportError("\(what): expected \(code), but it succeeded", file: file, line: line)
}

/// Requires every entry's parent directory to come before it.
public func requireParentsFirst(_ tree: [TreeEntry]) throws {
    var seen: Set<String> = []
    for entry in tree {
        if let slash = entry.path.lastIndex(of: "/") {
            let parent = String(entry.path[..<slash])
            try require(seen.contains(parent), "\(entry.path) comes before its parent")
        }
        seen.insert(entry.path)
    }
}

private func read(_ path: String?) throws -> String {
    guard let path else { throw TestSupportError("missing path") }
    return try String(contentsOfFile: path, encoding: .utf8)
}

private func linkTarget(_ path: String?) throws -> String {
    guard let path else { throw TestSupportError("missing path") }
    return try FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// `lstat` of `path`, throwing when it fails.
public func lstatOf(_ path: String?) throws -> stat {
    guard let path else { throw TestSupportError("missing path") }
    var st = stat()
    guard lstat(path, &st) == 0 else { throw TestSupportError("lstat \(path): errno \(errno)") }
    return st
}
