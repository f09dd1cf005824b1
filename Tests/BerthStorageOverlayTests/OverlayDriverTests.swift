import BerthArchive
import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

@testable import BerthStorageOverlay

struct OverlayDriverTests {
    let conformance = StorageDriverConformance { try OverlayDriver(home: $0) }

    @Test func baseLayer() async throws { try await conformance.baseLayer() }
    @Test func whiteoutsAndOpaqueDirectories() async throws { try await conformance.whiteoutsAndOpaqueDirectories() }
    @Test func prepareReturnsMounts() async throws { try await conformance.prepareReturnsMounts() }
    @Test func removeParentWithChildConflicts() async throws { try await conformance.removeParentWithChildConflicts() }
    @Test func unknownAndDuplicateLayers() async throws { try await conformance.unknownAndDuplicateLayers() }
    @Test func emptyAndCompressedLayers() async throws { try await conformance.emptyAndCompressedLayers() }
    @Test func maliciousLayersAreRefused() async throws { try await conformance.maliciousLayersAreRefused() }

    /// The prepared mounts work with the real kernel: whiteouts and opaque dirs hide lower files, writes land in
    /// the container layer's diff dir, and a deletion becomes a whiteout there.
    @Test func realOverlayMount() async throws {
        try await withTemporaryDirectory { root in
            let home = root + "/overlay"
            let driver = try OverlayDriver(home: home)
            try TarBuilder.write(
                [
                    .dir("etc"), .file("etc/keep", "k"), .file("etc/gone", "g"), .dir("opq"), .file("opq/old", "o"),
                    .dir("re"), .file("re/old", "o"),
                ],
                to: root + "/1.tar")
            try TarBuilder.write(
                [
                    .whiteout("etc/gone"), .dir("opq"), .opaque("opq"), .file("opq/new", "n"), .whiteout("re"),
                    .dir("re"),
                    .file("re/new", "n"),
                ], to: root + "/2.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/1.tar")
            try await driver.createLayer(id: "l2", parent: "l1", applying: root + "/2.tar")
            let mounts = try await driver.prepare(id: "c1", parent: "l2")
            #expect(
                mounts == [
                    MountSpec(
                        type: "overlay", source: "overlay",
                        options: [
                            "lowerdir=\(home)/l2/diff:\(home)/l1/diff", "upperdir=\(home)/c1/diff",
                            "workdir=\(home)/c1/work",
                        ])
                ])

            let merged = root + "/merged"
            try withMount(mounts, at: merged) {
                let fm = FileManager.default
                #expect(try String(contentsOfFile: merged + "/etc/keep", encoding: .utf8) == "k")
                #expect(!fm.fileExists(atPath: merged + "/etc/gone"))
                #expect(try fm.contentsOfDirectory(atPath: merged + "/opq") == ["new"])
                #expect(try fm.contentsOfDirectory(atPath: merged + "/re") == ["new"])
                try "w".write(toFile: merged + "/etc/written", atomically: false, encoding: .utf8)
                try fm.removeItem(atPath: merged + "/etc/keep")
            }
            #expect(mountPoints(under: root).isEmpty)

            let diff = try await driver.diffDirectory(id: "c1")
            #expect(FileManager.default.fileExists(atPath: diff + "/etc/written"))
            #expect(OverlayMarkers.isWhiteout(path: diff + "/etc/keep"))
            #expect(
                try await driver.mergedTree(id: "c1").map(\.path) == [
                    "etc", "etc/written", "opq", "opq/new", "re", "re/new",
                ])

            // The diff as an OCI layer: the deletion becomes .wh.keep.
            let tar = root + "/diff.tar"
            let fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try TarWriter.writeDirectory(diff, to: fd, overlayWhiteouts: true)
            close(fd)
            #expect(try TarBuilder.list(tar).map(\.name) == ["etc", "etc/.wh.keep", "etc/written"])
        }
    }

    /// Read-only mounts of a single base layer (one diff dir plus the empty dir) and of a stack.
    @Test func readOnlyMounts() async throws {
        try await withTemporaryDirectory { root in
            let home = root + "/overlay"
            let driver = try OverlayDriver(home: home)
            try TarBuilder.write([.file("a", "1")], to: root + "/1.tar")
            try TarBuilder.write([.file("b", "2")], to: root + "/2.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/1.tar")
            try await driver.createLayer(id: "l2", parent: "l1", applying: root + "/2.tar")
            let m1 = try await driver.mounts(for: "l1")
            #expect(m1.first?.options == ["lowerdir=\(home)/l1/diff:\(home)/l1/empty"])
            try withMount(m1, at: root + "/m1") { () throws in
                #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/m1") == ["a"])
            }
            let m2 = try await driver.mounts(for: "l2")
            #expect(m2.first?.options == ["lowerdir=\(home)/l2/diff:\(home)/l1/diff"])
            try withMount(m2, at: root + "/m2") { () throws in
                #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/m2").sorted() == ["a", "b"])
            }
            let scratch = try await driver.prepare(id: "s", parent: nil)
            #expect(scratch.first?.options.first == "lowerdir=\(home)/s/empty")
            try withMount(scratch, at: root + "/m3") { () throws in
                #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/m3").isEmpty)
            }
            #expect(mountPoints(under: root).isEmpty)
        }
    }

    @Test func infoAndMetadata() async throws {
        try await withTemporaryDirectory { root in
            let home = root + "/overlay"
            let driver = try OverlayDriver(home: home)
            let info = await driver.info()
            #expect(info.map(\.0) == ["Backing Filesystem", "Supports d_type"])
            #expect(info.first?.1 == "extfs")
            try await driver.createLayer(id: "l1", parent: nil, applying: nil)
            _ = try await driver.prepare(id: "c1", parent: "l1")
            #expect(
                await driver.metadata(id: "c1") == [
                    "LowerDir": "\(home)/l1/diff", "UpperDir": "\(home)/c1/diff", "WorkDir": "\(home)/c1/work",
                ])
        }
    }

    /// Overlay whiteouts in a layer hide names below a directory merge; a non-directory below a directory ends it.
    @Test func mergedTreeRules() async throws {
        try await withTemporaryDirectory { root in
            let driver = try OverlayDriver(home: root + "/overlay")
            try TarBuilder.write([.file("d", "file"), .dir("e"), .file("e/x", "x")], to: root + "/1.tar")
            try TarBuilder.write([.dir("d"), .file("d/in", "i"), .whiteout("e")], to: root + "/2.tar")
            try TarBuilder.write([.dir("e"), .file("e/y", "y")], to: root + "/3.tar")
            try await driver.createLayer(id: "l1", parent: nil, applying: root + "/1.tar")
            try await driver.createLayer(id: "l2", parent: "l1", applying: root + "/2.tar")
            try await driver.createLayer(id: "l3", parent: "l2", applying: root + "/3.tar")
            #expect(try await driver.mergedTree(id: "l3").map(\.path) == ["d", "d/in", "e", "e/y"])
        }
    }
}

/// Mounts `mounts` (the first one) at `target`, runs `body`, and always unmounts.
private func withMount(_ mounts: [MountSpec], at target: String, _ body: () throws -> Void) throws {
    let spec = try #require(mounts.first)
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    let rc = mount(spec.source, target, spec.type, 0, spec.options.joined(separator: ","))
    try #require(rc == 0, "mount \(spec.options): errno \(errno)")
    defer {
        if umount2(target, 0) != 0 { umount2(target, Int32(MNT_DETACH)) }
    }
    try body()
}
