import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// `docker import`: one tar becomes a one-layer image, with optional Dockerfile-style changes.
public struct ImageImporter: Sendable {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    /// The OCI media type of the layer archive at `path` by its first bytes; nil for a compression registries
    /// do not take (xz, bzip2).
    static func layerMediaType(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_size > 0 else { return nil }
        switch ArchiveDigest.compression(path: path) {
        case .none?: return "application/vnd.oci.image.layer.v1.tar"
        case .gzip?: return "application/vnd.oci.image.layer.v1.tar+gzip"
        case .zstd?: return "application/vnd.oci.image.layer.v1.tar+zstd"
        case .xz?, .bzip2?, nil: return nil
        }
    }

    /// Imports the tar at `path` (plain or compressed) and names it `reference` if given.
    /// - Returns: the new image.
    public func importTar(
        path: String, reference: ImageReference?, changes: [String], message: String, platformOS: String = "linux"
    ) async throws(BerthError) -> ImageRecord {
        var imageConfig: JSONValue = .object([])
        for line in changes { try ConfigChanges.apply(line, to: &imageConfig) }
        let (diffHex, _) = try ArchiveDigest.uncompressedSHA256(path: path)
        let diffID = "sha256:" + diffHex
        // A base layer's chain ID is its diff ID; the storage layer is named by the chain ID's hex.
        let layerID = diffHex
        let storage = store.storage
        var size: Int64 = 0
        if await storage.exists(id: layerID) {
            size = (try? await storage.usage(id: layerID)) ?? 0
        } else {
            size = try await storage.createLayer(id: layerID, parent: nil, applying: path)
        }
        // The archive is kept as the layer's blob (for push and save) when a registry can take it as it is:
        // plain, gzip or zstd.
        var blobs: [JSONValue] = []
        if let type = Self.layerMediaType(path), let (digest, blobSize) = try? store.content.adoptHashing(file: path) {
            blobs = [Descriptor(mediaType: type, digest: digest, size: blobSize).json]
        }
        let now = Clock.rfc3339Nano(Clock.nowNanos())
        var history: JSONValue = .object([("created", .string(now)), ("created_by", .string(""))])
        history["comment"] = .string(message.isEmpty ? "Imported from -" : message)
        let config: JSONValue = .object([
            ("architecture", .string("amd64")),
            ("config", imageConfig),
            ("created", .string(now)),
            ("history", .array([history])),
            ("os", .string(platformOS)),
            ("rootfs", .object([("type", .string("layers")), ("diff_ids", .array([.string(diffID)]))])),
        ])
        let configBytes = Array(config.serialized.utf8)
        let id = try store.content.put(configBytes)
        var record = ImageRecord(
            id: id, config: config, layers: [layerID], repoTags: reference.map { [$0.description] } ?? [], size: size,
            lastTagTime: Clock.nowNanos())
        record.layerBlobs = blobs
        try await store.add(record)
        return try await store.resolve(id)
    }
}
