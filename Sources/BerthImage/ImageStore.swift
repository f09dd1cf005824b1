import BerthCore
import BerthOS
import Glibc

/// Image records and the name → image index, persisted under `<root>/images/` (one record per image, written
/// atomically; the name index is derived from the records at load).
public actor ImageStore {
    let dir: String
    public nonisolated let content: ContentStore
    public nonisolated let storage: any StorageDriver
    private var images: [String: ImageRecord] = [:]

    public init(root: String, storage: any StorageDriver) throws(BerthError) {
        dir = root + "/images"
        try FileSystem.createDirectory(dir)
        content = try ContentStore(root: root)
        self.storage = storage
        var loaded: [String: ImageRecord] = [:]
        for name in try FileSystem.list(dir) where name.hasSuffix(".json") {
            // A record that cannot be read (torn by a crash mid-rename is impossible; corrupt by hand is not)
            // is skipped rather than stopping the daemon.
            guard let bytes = try? FileSystem.readFile(dir + "/" + name), let json = try? JSONValue.parse(bytes: bytes),
                let record = try? ImageRecord(json: json)
            else { continue }
            loaded[record.id] = record
        }
        images = loaded
    }

    public func all() -> [ImageRecord] { images.values.sorted { $0.lastTagTime > $1.lastTagTime } }

    /// Finds an image by `name[:tag]`, full or short ID (`sha256:` optional, at least 1 hex digit unambiguous).
    /// - Throws: `.notFound` with Docker's "No such image: X".
    public func resolve(_ ref: String) throws(BerthError) -> ImageRecord {
        if let r = find(ref) { return r }
        throw .notFound("No such image: \(ref)")
    }

    public func find(_ ref: String) -> ImageRecord? {
        if let parsed = try? ImageReference(parsing: ref) {
            let name = parsed.description
            if let r = images.values.first(where: { $0.repoTags.contains(name) }) { return r }
        }
        var hex = ref.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        guard !hex.isEmpty, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else { return nil }
        if let exact = images["sha256:" + hex] { return exact }
        let matches = images.values.filter { $0.hex.hasPrefix(hex) }
        return matches.count == 1 ? matches[0] : nil
    }

    public func add(_ record: ImageRecord) throws(BerthError) {
        var record = record
        if let existing = images[record.id] {
            record.repoTags = Array(Set(existing.repoTags + record.repoTags)).sorted()
            record.repoDigests = Array(Set(existing.repoDigests + record.repoDigests)).sorted()
            if record.layerBlobs.isEmpty { record.layerBlobs = existing.layerBlobs }
        }
        for tag in record.repoTags { try untagElsewhere(tag, keep: record.id) }
        try save(record)
    }

    /// Points `reference` at the image `id` (moving it from another image).
    public func tag(id: String, reference: ImageReference) throws(BerthError) {
        guard var record = images[id] else { throw .notFound("No such image: \(id)") }
        let name = reference.description
        try untagElsewhere(name, keep: id)
        if !record.repoTags.contains(name) { record.repoTags.append(name) }
        record.lastTagTime = Clock.nowNanos()
        try save(record)
    }

    private func untagElsewhere(_ name: String, keep id: String) throws(BerthError) {
        for var other in images.values where other.id != id && other.repoTags.contains(name) {
            other.repoTags.removeAll { $0 == name }
            try save(other)
        }
    }

    /// Removes one name from its image. Returns the image that held it.
    public func untag(_ name: String) throws(BerthError) -> ImageRecord? {
        guard var record = images.values.first(where: { $0.repoTags.contains(name) }) else { return nil }
        record.repoTags.removeAll { $0 == name }
        try save(record)
        return record
    }

    /// Deletes the image record, its config blob and the storage layers no other image uses.
    public func delete(id: String) async throws(BerthError) {
        guard let record = images[id] else { throw .notFound("No such image: \(id)") }
        images[id] = nil
        unlink("\(dir)/\(record.hex).json")
        FileSystem.syncDirectory(of: "\(dir)/x")
        content.remove(hex: record.hex)
        let stillUsed = Set(images.values.flatMap(\.layers))
        for layer in record.layers.reversed() where !stillUsed.contains(layer) {
            // A layer with a child (another image's or a container's) stays; it is removed with its last user.
            do { try await storage.remove(id: layer) } catch { break }
        }
    }

    private func save(_ record: ImageRecord) throws(BerthError) {
        try FileSystem.writeFileAtomic("\(dir)/\(record.hex).json", record.json.serialized)
        images[record.id] = record
    }
}
