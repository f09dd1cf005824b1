import BerthArchive
import BerthCore
import BerthOS
import CBerthLinux
import Glibc
import Synchronization

/// The `overlay` storage driver: each layer keeps only its own changes in a diff directory, and overlayfs stacks
/// them (`lowerdir` = the parents' diffs, `upperdir` = the container layer's diff).
///
/// Layout under `home` (`<root>/storage/overlay`):
///
/// ```
/// <id>/diff     the layer's changes, whiteouts as character devices 0:0, opaque dirs with trusted.overlay.opaque=y
/// <id>/lower    the parents' diff dirs, colon-separated, topmost first (empty for a base layer)
/// <id>/work     overlayfs work dir (container layers only)
/// <id>/empty    an empty dir, the lowerdir when a stack has too few layers (not in container layers on a parent)
/// <id>/parent   the parent's ID (empty for a base layer); written last, its presence means the layer exists
/// ```
public final class OverlayDriver: StorageDriver, LayerDiffing {
    /// Always `overlay`.
    public let name = "overlay"
    private let home: String
    private let backgroundCleanup: Bool
    private let registry = Mutex(LayerRegistry())

    /// Opens (creating if needed) the driver's directory and removes leftovers of interrupted operations.
    /// - Parameter home: the driver's own directory, normally `<root>/storage/overlay`.
    ///   - backgroundCleanup: `remove` returns once the layer is renamed out of the way and deletes its files on
    ///     a background task (the daemon's choice: `rm` of a container does not wait for its files).
    /// - Throws: `.unsupported` when the kernel has no overlayfs or `home` is itself on overlayfs.
    public init(home: String, backgroundCleanup: Bool = false) throws(BerthError) {
        let filesystems = (try? FileSystem.readText("/proc/filesystems")) ?? ""
        guard filesystems.split(separator: "\n").contains(where: { $0.hasSuffix("\toverlay") }) else {
            throw BerthError(.unsupported, "overlay storage: the kernel does not support overlayfs")
        }
        try FileSystem.createDirectory(home, mode: 0o700)
        if OverlayDriver.filesystemName(home) == "overlayfs" {
            throw BerthError(.unsupported, "overlay storage: \(home) is on overlayfs, which cannot be an upper dir")
        }
        self.home = home
        self.backgroundCleanup = backgroundCleanup
        for name in try FileSystem.list(home)
        where name.hasPrefix(".") || !FileSystem.exists(home + "/" + name + "/parent") {
            try? FileSystem.removeTree(home + "/" + name)
        }
    }

    @discardableResult
    public func createLayer(id: String, parent: String?, applying archivePath: String?) async throws(BerthError)
        -> Int64
    {
        try create(id: id, parent: parent, archive: archivePath, writable: false)
    }

    public func prepare(id: String, parent: String?) async throws(BerthError) -> [MountSpec] {
        try create(id: id, parent: parent, archive: nil, writable: true)
        return try mountSpecs(id)
    }

    public func mounts(for id: String) async throws(BerthError) -> [MountSpec] {
        try mountSpecs(id)
    }

    public func exists(id: String) async -> Bool {
        LayerRegistry.isValid(id) && FileSystem.exists(home + "/" + id + "/parent")
    }

    public func remove(id: String) async throws(BerthError) {
        try LayerRegistry.validate(id)
        let trash = home + "/.removing-" + id
        try registry.withLock { (r: inout LayerRegistry) throws(BerthError) in
            guard FileSystem.exists(home + "/" + id + "/parent") else { throw .notFound("layer \(id) not found") }
            if r.isBusy(id) || !children(of: id).isEmpty {
                throw .conflict("layer \(id) is in use by a child layer")
            }
            try Syscall.call("rename \(home)/\(id)") { rename(home + "/" + id, trash) }
        }
        if backgroundCleanup { FileSystem.removeTreeInBackground(trash) } else { try FileSystem.removeTree(trash) }
    }

    public func usage(id: String) async throws(BerthError) -> Int64 {
        FileSystem.diskUsage(try layerDir(id) + "/diff")
    }

    public func info() async -> [(String, String)] {
        [("Backing Filesystem", OverlayDriver.filesystemName(home)), ("Supports d_type", "true")]
    }

    public func metadata(id: String) async -> [String: String] {
        guard let dir = try? layerDir(id) else { return [:] }
        var data = ["UpperDir": dir + "/diff"]
        let lowers = (try? lowerDirs(dir)) ?? []
        if !lowers.isEmpty { data["LowerDir"] = lowers.joined(separator: ":") }
        if FileSystem.isDirectory(dir + "/work") { data["WorkDir"] = dir + "/work" }
        return data
    }

    public func mergedTree(id: String) async throws(BerthError) -> [TreeEntry] {
        let dir = try layerDir(id)
        return try OverlayTree.entries(layers: [dir + "/diff"] + lowerDirs(dir))
    }

    public func diffDirectory(id: String) async throws(BerthError) -> String {
        try layerDir(id) + "/diff"
    }

    // MARK: - Internals

    @discardableResult
    private func create(id: String, parent: String?, archive: String?, writable: Bool) throws(BerthError) -> Int64 {
        try LayerRegistry.validate(id)
        if let parent { try LayerRegistry.validate(parent) }
        try registry.withLock { (r: inout LayerRegistry) throws(BerthError) in
            if r.creating.contains(id) || FileSystem.exists(home + "/" + id) {
                throw .conflict("layer \(id) already exists")
            }
            if let parent, !FileSystem.exists(home + "/" + parent + "/parent") {
                throw .notFound("parent layer \(parent) not found")
            }
            r.begin(id, parent: parent)
        }
        defer { registry.withLock { $0.end(id, parent: parent) } }

        let dir = home + "/" + id
        do {
            try Syscall.call("mkdir \(dir)") { mkdir(dir, 0o700) }
            try Syscall.call("mkdir \(dir)/diff") { mkdir(dir + "/diff", 0o755) }
            // The placeholder lowerdir is needed only when the stack would be too short (see mountSpecs).
            if !writable || parent == nil { try Syscall.call("mkdir \(dir)/empty") { mkdir(dir + "/empty", 0o755) } }
            if writable { try Syscall.call("mkdir \(dir)/work") { mkdir(dir + "/work", 0o700) } }
            var lowers: [String] = []
            if let parent {
                let parentDir = home + "/" + parent
                lowers = try [parentDir + "/diff"] + lowerDirs(parentDir)
            }
            try FileSystem.writeFileAtomic(
                dir + "/lower", lowers.joined(separator: ":"), mode: 0o600, syncDirectory: !writable)
            var bytes: Int64 = 0
            if let archive { bytes = try LayerApplier.apply(archive: archive, to: dir + "/diff", whiteouts: .overlay) }
            try FileSystem.writeFileAtomic(dir + "/parent", parent ?? "", mode: 0o600, syncDirectory: !writable)
            return bytes
        } catch {
            try? FileSystem.removeTree(dir)
            throw error
        }
    }

    private func layerDir(_ id: String) throws(BerthError) -> String {
        try LayerRegistry.validate(id)
        let dir = home + "/" + id
        guard FileSystem.exists(dir + "/parent") else { throw .notFound("layer \(id) not found") }
        return dir
    }

    /// The diff dirs below the layer in `dir`, topmost first.
    private func lowerDirs(_ dir: String) throws(BerthError) -> [String] {
        try FileSystem.readText(dir + "/lower").split(separator: ":").map(String.init)
    }

    private func mountSpecs(_ id: String) throws(BerthError) -> [MountSpec] {
        let dir = try layerDir(id)
        var lowers = try lowerDirs(dir)
        let options: [String]
        if FileSystem.isDirectory(dir + "/work") {
            // overlayfs needs at least one lowerdir.
            if lowers.isEmpty { lowers = [dir + "/empty"] }
            options = [
                "lowerdir=" + lowers.joined(separator: ":"), "upperdir=" + dir + "/diff", "workdir=" + dir + "/work",
            ]
        } else {
            // Without an upperdir overlayfs needs at least two lowerdirs.
            lowers = [dir + "/diff"] + lowers
            if lowers.count < 2 { lowers.append(dir + "/empty") }
            options = ["lowerdir=" + lowers.joined(separator: ":")]
        }
        // The kernel takes mount data up to one page; Docker shortens paths with symlinks, Berth refuses.
        let length = options.joined(separator: ",").utf8.count
        guard length < 4000 else {
            throw BerthError(
                .unsupported, "overlay storage: mount options of layer \(id) are \(length) bytes, over the page limit")
        }
        return [MountSpec(type: "overlay", source: "overlay", options: options)]
    }

    /// IDs of the layers whose parent is `id`.
    private func children(of id: String) -> [String] {
        ((try? FileSystem.list(home)) ?? []).filter { name in
            !name.hasPrefix(".") && (try? FileSystem.readText(home + "/" + name + "/parent")) == id
        }
    }

    /// Docker's name for the filesystem holding `path` (`extfs`, `xfs`, …).
    static func filesystemName(_ path: String) -> String {
        let type = berth_statfs_type(path)
        guard type != 0 else { return "unknown" }
        switch UInt64(truncatingIfNeeded: type) & 0xFFFF_FFFF {
        case 0xEF53: return "extfs"
        case 0x5846_5342: return "xfs"
        case 0x9123_683E: return "btrfs"
        case 0x0102_1994: return "tmpfs"
        case 0x794C_7630: return "overlayfs"
        case 0x2FC1_2FC1: return "zfs"
        case 0x6573_5546: return "fuse"
        case let t: return "0x" + String(t, radix: 16)
        }
    }
}
