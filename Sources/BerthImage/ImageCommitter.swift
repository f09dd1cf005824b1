import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// `docker commit`: a container's changes become one new layer on top of its image, with the container's
/// configuration (and `--change` lines) as the new image's.
public struct ImageCommitter: Sendable {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    public struct Request: Sendable {
        public var containerID: String
        public var image: ImageRecord
        /// The container's `Config`, as the new image's `config` (before changes).
        public var containerConfig: JSONValue
        public var createdBy: String
        public var changes: [String] = []
        public var comment = ""
        public var author = ""
        public var reference: ImageReference?
        /// History entries to append instead of one for `createdBy` (a builder's configuration steps since the
        /// last image, then its own); their `created` times are filled in.
        public var history: [JSONValue]? = nil

        public init(
            containerID: String, image: ImageRecord, containerConfig: JSONValue, createdBy: String
        ) {
            self.containerID = containerID
            self.image = image
            self.containerConfig = containerConfig
            self.createdBy = createdBy
        }
    }

    /// Writes the layer tar of `r.containerID` to a file in `tmpDir`, stores the layer and the image.
    public func commit(_ r: Request, tmpDir: String) async throws(BerthError) -> ImageRecord {
        var imageConfig = Self.imageConfigPart(r.containerConfig)
        for line in r.changes { try ConfigChanges.apply(line, to: &imageConfig) }
        let storage = store.storage
        let diff = try await LayerChanges.compute(storage: storage, layer: r.containerID, parent: r.image.topLayer)
        try FileSystem.createDirectory(tmpDir)
        let path = "\(tmpDir)/commit-\(Identifier.random().prefix(16)).tar"
        defer { unlink(path) }
        do {
            let fd = try Syscall.call("open \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            defer { close(fd) }
            try TarWriter.write(entries: diff.entries, to: fd, deleted: diff.deleted)
        }
        let (diffHex, tarSize) = try ArchiveDigest.uncompressedSHA256(path: path)
        let diffID = "sha256:" + diffHex
        // The chain ID of layer n is sha256(chainID(n-1) + " " + diffID(n)); the storage layer is named by its hex.
        let parentChain = r.image.topLayer.map { "sha256:" + $0 }
        let layerID = parentChain.map { SHA256.hash(Array("\($0) \(diffID)".utf8)) } ?? diffHex
        var size: Int64 = 0
        if await storage.exists(id: layerID) {
            size = (try? await storage.usage(id: layerID)) ?? 0
        } else {
            size = try await storage.createLayer(id: layerID, parent: r.image.topLayer, applying: path)
        }
        // The tar is kept as the layer's blob (for push and save), in the media type family of the image's.
        var blobs: [JSONValue] = []
        if r.image.layerBlobs.count == r.image.layers.count {
            let docker =
                r.image.layerBlobs.first?["mediaType"]?.stringValue?.hasPrefix("application/vnd.docker.") ?? false
            let type =
                docker ? "application/vnd.docker.image.rootfs.diff.tar" : "application/vnd.oci.image.layer.v1.tar"
            if (try? store.content.adopt(file: path, hex: diffHex, verify: false)) != nil {
                blobs = r.image.layerBlobs + [Descriptor(mediaType: type, digest: diffID, size: tarSize).json]
            }
        }
        let now = Clock.rfc3339Nano(Clock.nowNanos())
        var config = r.image.config
        config["config"] = imageConfig
        config["container"] = .string(r.containerID)
        config["created"] = .string(now)
        config["author"] = r.author.isEmpty ? nil : .string(r.author)
        var history: JSONValue = .object([("created", .string(now)), ("created_by", .string(r.createdBy))])
        if !r.author.isEmpty { history["author"] = .string(r.author) }
        if !r.comment.isEmpty { history["comment"] = .string(r.comment) }
        let added = r.history.map { entries in entries.map { Self.dated($0, now) } } ?? [history]
        config["history"] = .array((config["history"]?.arrayValue ?? []) + added)
        var rootfs = config["rootfs"] ?? .object([("type", .string("layers"))])
        rootfs["diff_ids"] = .array((rootfs["diff_ids"]?.arrayValue ?? []) + [.string(diffID)])
        config["rootfs"] = rootfs
        let id = try store.content.put(Array(config.serialized.utf8))
        var record = ImageRecord(
            id: id, config: config, layers: r.image.layers + [layerID],
            repoTags: r.reference.map { [$0.description] } ?? [], size: r.image.size + size,
            lastTagTime: Clock.nowNanos())
        record.layerBlobs = blobs
        record.parent = r.image.id
        try await store.add(record)
        return try await store.resolve(id)
    }

    /// A new image with `image`'s layers and `imageConfig` as its configuration, `history` appended: a builder's
    /// steps that change only the configuration (ENV, LABEL, CMD, …), each an `empty_layer` entry.
    public func configOnly(image: ImageRecord, imageConfig: JSONValue, history: [JSONValue])
        async throws(BerthError) -> ImageRecord
    {
        let now = Clock.rfc3339Nano(Clock.nowNanos())
        var config = image.config
        config["config"] = Self.imageConfigPart(imageConfig)
        config["created"] = .string(now)
        config["container"] = nil
        config["history"] = .array((config["history"]?.arrayValue ?? []) + history.map { Self.dated($0, now) })
        if config["rootfs"] == nil {
            config["rootfs"] = .object([("type", .string("layers")), ("diff_ids", .array([]))])
        }
        let id = try store.content.put(Array(config.serialized.utf8))
        var record = ImageRecord(
            id: id, config: config, layers: image.layers, repoTags: [], size: image.size,
            lastTagTime: Clock.nowNanos())
        record.layerBlobs = image.layerBlobs
        record.parent = image.id
        try await store.add(record)
        return try await store.resolve(id)
    }

    /// A history entry with `created` set (to `now` when it has none), `created` first as Docker writes it.
    static func dated(_ entry: JSONValue, _ now: String) -> JSONValue {
        var out: JSONValue = .object([("created", entry["created"] ?? .string(now))])
        for (k, v) in entry.objectMembers where k != "created" { out[k] = v }
        return out
    }

    /// The image-config part of a container's `Config` (what an image can carry; no host or attach settings).
    static func imageConfigPart(_ c: JSONValue) -> JSONValue {
        var out: JSONValue = .object([])
        for key in [
            "Hostname", "Domainname", "User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image",
            "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell",
        ] {
            if let v = c[key], v != .null { out[key] = v }
        }
        return out
    }
}
