import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// `docker import`: one tar becomes a one-layer image, with optional Dockerfile-style changes.
public struct ImageImporter: Sendable {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

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
        let record = ImageRecord(
            id: id, config: config, layers: [layerID], repoTags: reference.map { [$0.description] } ?? [], size: size,
            lastTagTime: Clock.nowNanos())
        try await store.add(record)
        return try await store.resolve(id)
    }
}
