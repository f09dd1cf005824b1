import BerthArchive
import BerthCore
import BerthOS
import Glibc
import Synchronization

/// The `vfs` storage driver: every layer is a full copy of its parent's tree with its own changes applied.
///
/// Slow and space-hungry, but it needs nothing from the kernel beyond a bind mount, so it works anywhere
/// (nested in overlayfs, on any backing filesystem). Layout under `home` (`<root>/storage/vfs`):
///
/// ```
/// dir/<id>/     the layer's complete tree (the rootfs of a container layer)
/// meta/<id>     "parent=<id>" (empty for a base layer) and "writable=1" for container layers;
///               its presence means the layer exists
/// ```
public final class VFSDriver: StorageDriver {
    /// Always `vfs`.
    public let name = "vfs"
    private let home: String
    private let layers: String
    private let meta: String
    private let backgroundCleanup: Bool
    private let registry = Mutex(LayerRegistry())

    /// Opens (creating if needed) the driver's directory and removes leftovers of interrupted operations.
    /// - Parameters:
    ///   - home: the driver's own directory, normally `<root>/storage/vfs`.
    ///   - backgroundCleanup: `remove` returns once the layer is renamed out of the way and deletes its files on
    ///     a background task.
    public init(home: String, backgroundCleanup: Bool = false) throws(BerthError) {
        self.home = home
        self.backgroundCleanup = backgroundCleanup
        self.layers = home + "/dir"
        self.meta = home + "/meta"
        try FileSystem.createDirectory(layers, mode: 0o700)
        try FileSystem.createDirectory(meta, mode: 0o700)
        for name in try FileSystem.list(layers) where name.hasPrefix(".") || !FileSystem.exists(meta + "/" + name) {
            try? FileSystem.removeTree(layers + "/" + name)
        }
        for name in try FileSystem.list(meta) where name.contains(".tmp-") { unlink(meta + "/" + name) }
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
        LayerRegistry.isValid(id) && FileSystem.exists(meta + "/" + id)
    }

    public func remove(id: String) async throws(BerthError) {
        try LayerRegistry.validate(id)
        let trash = layers + "/.removing-" + id
        try registry.withLock { (r: inout LayerRegistry) throws(BerthError) in
            guard FileSystem.exists(meta + "/" + id) else { throw .notFound("layer \(id) not found") }
            if r.isBusy(id) || !children(of: id).isEmpty {
                throw .conflict("layer \(id) is in use by a child layer")
            }
            try Syscall.call("rename \(layers)/\(id)") { rename(layers + "/" + id, trash) }
            try Syscall.call("unlink \(meta)/\(id)") { unlink(meta + "/" + id) }
        }
        if backgroundCleanup { FileSystem.removeTreeInBackground(trash) } else { try FileSystem.removeTree(trash) }
    }

    public func usage(id: String) async throws(BerthError) -> Int64 {
        try FileSystem.diskUsage(existingDir(id))
    }

    public func info() async -> [(String, String)] {
        []
    }

    public func metadata(id: String) async -> [String: String] {
        guard let dir = try? existingDir(id) else { return [:] }
        return ["Dir": dir]
    }

    public func mergedTree(id: String) async throws(BerthError) -> [TreeEntry] {
        try DirectoryTree.entries(of: existingDir(id))
    }

    // MARK: - Internals

    @discardableResult
    private func create(id: String, parent: String?, archive: String?, writable: Bool) throws(BerthError) -> Int64 {
        try LayerRegistry.validate(id)
        if let parent { try LayerRegistry.validate(parent) }
        try registry.withLock { (r: inout LayerRegistry) throws(BerthError) in
            if r.creating.contains(id) || FileSystem.exists(meta + "/" + id) {
                throw .conflict("layer \(id) already exists")
            }
            if let parent, !FileSystem.exists(meta + "/" + parent) {
                throw .notFound("parent layer \(parent) not found")
            }
            r.begin(id, parent: parent)
        }
        defer { registry.withLock { $0.end(id, parent: parent) } }

        let dir = layers + "/" + id
        do {
            if let parent {
                try TreeCopier.copy(from: layers + "/" + parent, to: dir)
            } else {
                try Syscall.call("mkdir \(dir)") { mkdir(dir, 0o755) }
            }
            var bytes: Int64 = 0
            if let archive { bytes = try LayerApplier.apply(archive: archive, to: dir, whiteouts: .apply) }
            var record = "parent=\(parent ?? "")\n"
            if writable { record += "writable=1\n" }
            try FileSystem.writeFileAtomic(meta + "/" + id, record, mode: 0o600, syncDirectory: !writable)
            return bytes
        } catch {
            try? FileSystem.removeTree(dir)
            throw error
        }
    }

    private func existingDir(_ id: String) throws(BerthError) -> String {
        try LayerRegistry.validate(id)
        guard FileSystem.exists(meta + "/" + id) else { throw .notFound("layer \(id) not found") }
        return layers + "/" + id
    }

    private func mountSpecs(_ id: String) throws(BerthError) -> [MountSpec] {
        let dir = try existingDir(id)
        let record = (try? FileSystem.readText(meta + "/" + id)) ?? ""
        let writable = record.split(separator: "\n").contains("writable=1")
        return [MountSpec(type: "bind", source: dir, options: writable ? ["rbind"] : ["rbind", "ro"])]
    }

    /// IDs of the layers whose parent is `id`.
    private func children(of id: String) -> [String] {
        ((try? FileSystem.list(meta)) ?? []).filter { name in
            guard !name.contains(".tmp-"), let text = try? FileSystem.readText(meta + "/" + name) else { return false }
            return text.split(separator: "\n").contains { $0 == "parent=\(id)" }
        }
    }
}
