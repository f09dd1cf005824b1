import BerthCore

/// An image as the daemon keeps it: its config (the OCI image config JSON), its layers in the storage driver,
/// and the names that point at it.
public struct ImageRecord: Sendable {
    /// `sha256:<hex>` of the config blob.
    public var id: String
    /// The OCI image config (`architecture`, `os`, `config`, `rootfs.diff_ids`, `history`, …).
    public var config: JSONValue
    /// Storage layer IDs (chain IDs), bottom first.
    public var layers: [String]
    public var repoTags: [String]
    public var size: Int64
    /// Nanoseconds since the epoch of the last tag.
    public var lastTagTime: Int64
    /// `repository@sha256:…` of the manifests it was pulled by (or pushed as).
    public var repoDigests: [String] = []
    /// The layers as a registry has them (OCI descriptors: `mediaType`, `digest`, `size`), bottom first, when
    /// their blobs are in the content store (pulled images); empty otherwise.
    public var layerBlobs: [JSONValue] = []
    /// The image this one was made from by a build step or a commit (Docker's `Parent`); "" otherwise. An
    /// untagged image that is some image's parent is an intermediate image, hidden from `images` without `-a`.
    public var parent = ""

    public init(id: String, config: JSONValue, layers: [String], repoTags: [String], size: Int64, lastTagTime: Int64) {
        self.id = id
        self.config = config
        self.layers = layers
        self.repoTags = repoTags
        self.size = size
        self.lastTagTime = lastTagTime
    }

    public var topLayer: String? { layers.last }
    public var hex: String { String(id.dropFirst(7)) }
    /// The container config part (`Env`, `Cmd`, `Entrypoint`, …).
    public var containerConfig: JSONValue { config["config"] ?? .object([]) }

    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("config", config), ("layers", .strings(layers)), ("repoTags", .strings(repoTags)),
            ("size", .int(size)), ("lastTagTime", .string(String(lastTagTime))),
            ("repoDigests", .strings(repoDigests)), ("layerBlobs", .array(layerBlobs)), ("parent", .string(parent)),
        ])
    }

    public init(json: JSONValue) throws(BerthError) {
        guard let id = json["id"]?.stringValue, let config = json["config"] else {
            throw .internalError("corrupt image record")
        }
        self.init(
            id: id, config: config, layers: json["layers"]?.stringArray ?? [],
            repoTags: json["repoTags"]?.stringArray ?? [],
            size: json["size"]?.int64Value ?? 0, lastTagTime: Int64(json["lastTagTime"]?.stringValue ?? "") ?? 0)
        repoDigests = json["repoDigests"]?.stringArray ?? []
        layerBlobs = json["layerBlobs"]?.arrayValue ?? []
        parent = json["parent"]?.stringValue ?? ""
    }
}
