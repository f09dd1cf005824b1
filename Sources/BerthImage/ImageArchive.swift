import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// `docker save` and `docker load` archives, in the layout Docker 25+ writes: an OCI image layout
/// (`oci-layout`, `index.json`, `blobs/sha256/…`) plus Docker's `manifest.json`, so both Docker and OCI tools
/// read it. Layers are stored once however many images share them, as uncompressed tars named by their diff ID.
public enum ImageArchive {
    /// Writes `images` (each with the names to record for it) as a tar to `fd`. Layers kept compressed are
    /// decompressed through `tmpDir`.
    /// - Throws: `.unsupported` for an image whose layers are not kept as blobs.
    public static func save(_ images: [(ImageRecord, [String])], content: ContentStore, to fd: Int32)
        throws(BerthError)
    {
        let tar = try TarStreamWriter(fd: fd)
        var written: Set<String> = []
        var manifestEntries: [JSONValue] = []
        var indexEntries: [JSONValue] = []
        var temporary: [String] = []
        defer { for t in temporary { unlink(t) } }
        var layerSizes: [String: Int64] = [:]
        try tar.directory("blobs/")
        try tar.directory("blobs/sha256/")
        for (record, names) in images {
            let diffIDs = record.config["rootfs"]?["diff_ids"]?.stringArray ?? []
            guard record.layerBlobs.count == diffIDs.count else {
                throw BerthError(
                    .unsupported,
                    "image \(record.hex.prefix(12)) cannot be saved: its layers are not kept as blobs (made by an older Berth)"
                )
            }
            var layers: [JSONValue] = []
            for (blobJSON, diffID) in zip(record.layerBlobs, diffIDs) {
                let diffHex = String(diffID.dropFirst(7))
                let blobHex = String((blobJSON["digest"]?.stringValue ?? "").dropFirst(7))
                if !written.contains(diffHex) {
                    var path = content.path(hex: blobHex)
                    if blobHex != diffHex {
                        // A compressed blob: the archive holds the tar itself.
                        let tmp = "\(content.tmpDir)/save-\(diffHex)"
                        let (hex, _) = try ArchiveDigest.decompress(path: path, to: tmp)
                        temporary.append(tmp)
                        guard hex == diffHex else { throw .internalError("layer \(diffID) is corrupt in the store") }
                        path = tmp
                    }
                    try tar.file("blobs/sha256/\(diffHex)", from: path)
                    written.insert(diffHex)
                    var st = stat()
                    layerSizes[diffHex] = stat(path, &st) == 0 ? Int64(st.st_size) : 0
                }
                layers.append(
                    Descriptor(
                        mediaType: "application/vnd.oci.image.layer.v1.tar", digest: diffID,
                        size: layerSizes[diffHex] ?? 0
                    ).json)
            }
            let configBytes = try content.read(hex: record.hex)
            if !written.contains(record.hex) {
                try tar.bytes("blobs/sha256/\(record.hex)", configBytes)
                written.insert(record.hex)
            }
            let manifest: JSONValue = .object([
                ("schemaVersion", .int(2)), ("mediaType", .string("application/vnd.oci.image.manifest.v1+json")),
                (
                    "config",
                    Descriptor(
                        mediaType: "application/vnd.oci.image.config.v1+json", digest: record.id,
                        size: Int64(configBytes.count)
                    ).json
                ),
                ("layers", .array(layers)),
            ])
            let manifestBytes = Array(manifest.serialized.utf8)
            let manifestHex = SHA256.hash(manifestBytes)
            if !written.contains(manifestHex) {
                try tar.bytes("blobs/sha256/\(manifestHex)", manifestBytes)
                written.insert(manifestHex)
            }
            let descriptor = Descriptor(
                mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:" + manifestHex,
                size: Int64(manifestBytes.count))
            if names.isEmpty {
                indexEntries.append(descriptor.json)
            }
            for name in names {
                var d = descriptor.json
                let tag = name.split(separator: ":").last.map(String.init) ?? "latest"
                d["annotations"] = .object([
                    ("io.containerd.image.name", .string(Self.fullName(name))),
                    ("org.opencontainers.image.ref.name", .string(tag)),
                ])
                indexEntries.append(d)
            }
            manifestEntries.append(
                .object([
                    ("Config", .string("blobs/sha256/\(record.hex)")),
                    ("RepoTags", names.isEmpty ? .null : .strings(names)),
                    ("Layers", .strings(diffIDs.map { "blobs/sha256/" + $0.dropFirst(7) })),
                ]))
        }
        let index: JSONValue = .object([
            ("schemaVersion", .int(2)), ("mediaType", .string("application/vnd.oci.image.index.v1+json")),
            ("manifests", .array(indexEntries)),
        ])
        try tar.bytes("index.json", Array(index.serialized.utf8))
        try tar.bytes("manifest.json", Array(JSONValue.array(manifestEntries).serialized.utf8))
        try tar.bytes("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        try tar.close()
    }

    /// `docker.io/library/busybox:latest` for `busybox:latest`, as containerd names images.
    static func fullName(_ name: String) -> String {
        let repo = name.split(separator: "/", maxSplits: 1).map(String.init)
        if repo.count == 2, repo[0].contains(".") || repo[0].contains(":") || repo[0] == "localhost" { return name }
        return "docker.io/" + (repo.count == 1 ? "library/" + name : name)
    }
}

extension ImageArchive {
    /// Reads a `docker save` archive (plain or compressed): every layer is checked against its config's diff ID
    /// before anything is stored. Entries are extracted by number into a directory of their own, so no name in
    /// the archive (`../`, absolute, through a symlink) reaches the filesystem.
    /// - Returns: Docker's lines, `Loaded image: NAME` (or `Loaded image ID: ID` for an image without a name).
    public static func load(archive path: String, store: ImageStore) async throws(BerthError) -> [String] {
        let work = "\(store.content.tmpDir)/load-\(Identifier.random().prefix(16))"
        try FileSystem.createDirectory(work, mode: 0o700)
        defer { try? FileSystem.removeTree(work) }
        let files = try extract(path, into: work)
        func find(_ name: String) throws(BerthError) -> String {
            if let p = files[normalize(name)] { return p }
            throw .invalidArgument("invalid archive: \(name) is not in it")
        }
        guard let manifestPath = files["manifest.json"] else {
            throw .invalidArgument("invalid archive: no manifest.json (not a docker save archive)")
        }
        let manifest: JSONValue
        do { manifest = try JSONValue.parse(bytes: try FileSystem.readFile(manifestPath)) } catch {
            throw .invalidArgument("invalid archive: manifest.json: \(error.message)")
        }
        guard let entries = manifest.arrayValue, !entries.isEmpty else {
            throw .invalidArgument("invalid archive: manifest.json lists no image")
        }
        struct Pending {
            var configBytes: [UInt8]
            var config: JSONValue
            var layers: [(path: String, diffHex: String, size: Int64)]
            var tags: [String]
        }
        // First every check, then the store.
        var pending: [Pending] = []
        for e in entries {
            guard let configName = e["Config"]?.stringValue else {
                throw .invalidArgument("invalid archive: an image without Config")
            }
            let configBytes = try FileSystem.readFile(try find(configName))
            let config: JSONValue
            do { config = try JSONValue.parse(bytes: configBytes) } catch {
                throw .invalidArgument("invalid archive: \(configName): \(error.message)")
            }
            let diffIDs = config["rootfs"]?["diff_ids"]?.stringArray ?? []
            let layerNames = e["Layers"]?.stringArray ?? []
            guard layerNames.count == diffIDs.count else {
                throw .invalidArgument(
                    "invalid archive: \(configName) lists \(diffIDs.count) layers, manifest.json \(layerNames.count)")
            }
            var layers: [(path: String, diffHex: String, size: Int64)] = []
            for (i, (name, diffID)) in zip(layerNames, diffIDs).enumerated() {
                let p = try find(name)
                let (hex, size) = try ArchiveDigest.uncompressedSHA256(path: p)
                guard "sha256:" + hex == diffID else {
                    throw .invalidArgument(
                        "invalid diffID for layer \(i): calculated sha256:\(hex), expected \(diffID)")
                }
                layers.append((p, hex, size))
            }
            var tags: [String] = []
            for t in e["RepoTags"]?.stringArray ?? [] {
                guard let ref = try? ImageReference(parsing: t), ref.tag != nil else {
                    throw .invalidArgument("invalid archive: bad tag \(t)")
                }
                tags.append(ref.description)
            }
            pending.append(Pending(configBytes: configBytes, config: config, layers: layers, tags: tags))
        }
        var lines: [String] = []
        for p in pending {
            var chains: [String] = []
            var blobs: [JSONValue] = []
            var size: Int64 = 0
            for (i, l) in p.layers.enumerated() {
                let chain = i == 0 ? l.diffHex : SHA256.hash(Array("sha256:\(chains[i - 1]) sha256:\(l.diffHex)".utf8))
                chains.append(chain)
                // The layer is kept as its blob (plain tars only: named by the diff ID).
                var source = l.path
                if store.content.exists(hex: l.diffHex) {
                    source = store.content.path(hex: l.diffHex)
                } else if FileSystem.exists(l.path),
                    ArchiveDigest.compression(path: l.path) == ArchiveDigest.Compression.none
                {
                    try store.content.adopt(file: l.path, hex: l.diffHex, verify: false)
                    source = store.content.path(hex: l.diffHex)
                }
                if store.content.exists(hex: l.diffHex) {
                    blobs.append(
                        Descriptor(
                            mediaType: "application/vnd.oci.image.layer.v1.tar", digest: "sha256:" + l.diffHex,
                            size: l.size
                        )
                        .json)
                }
                if await store.storage.exists(id: chain) {
                    size += (try? await store.storage.usage(id: chain)) ?? 0
                } else {
                    size += try await store.storage.createLayer(
                        id: chain, parent: i == 0 ? nil : chains[i - 1], applying: source)
                }
            }
            let id = try store.content.put(p.configBytes)
            var record = ImageRecord(
                id: id, config: p.config, layers: chains, repoTags: p.tags, size: size, lastTagTime: Clock.nowNanos())
            record.layerBlobs = blobs.count == chains.count ? blobs : []
            try await store.add(record)
            lines += p.tags.isEmpty ? ["Loaded image ID: \(id)"] : p.tags.map { "Loaded image: \($0)" }
        }
        return lines
    }

    /// `./a//b` → `a/b`.
    static func normalize(_ name: String) -> String {
        name.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    /// Extracts the regular files of the archive at `path` as `work/0`, `work/1`, … and returns archive name →
    /// file; symlinks between entries (older archives share layers that way) are followed within the archive.
    /// - Throws: `.invalidArgument` for a truncated or unreadable archive, or a name with `..` or a leading `/`.
    static func extract(_ path: String, into work: String) throws(BerthError) -> [String: String] {
        let entries = try TarEntries.read(path: path, into: work)
        var files: [String: String] = [:]
        var links: [String: String] = [:]
        for e in entries {
            let name = normalize(e.name)
            if e.name.hasPrefix("/") || name.split(separator: "/").contains("..") {
                throw .invalidArgument("invalid archive: unsafe path \(e.name)")
            }
            if let file = e.file {
                files[name] = file
            } else if let target = e.linkTarget {
                let dir = name.split(separator: "/").dropLast().joined(separator: "/")
                links[name] =
                    target.hasPrefix("/") ? normalize(target) : normalize(dir.isEmpty ? target : dir + "/" + target)
            }
        }
        for (name, target) in links {
            var t = target
            var hops = 0
            // `a/../b` inside the archive resolves by components; anything leaving it is ignored.
            while files[t] == nil, let next = links[t], hops < 8 {
                t = next
                hops += 1
            }
            var parts: [Substring] = []
            for c in t.split(separator: "/") {
                if c == ".." {
                    if parts.isEmpty { break }
                    parts.removeLast()
                } else {
                    parts.append(c)
                }
            }
            if let f = files[parts.joined(separator: "/")] ?? files[t] { files[name] = f }
        }
        return files
    }
}
