import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// An OCI content descriptor: what a manifest says of a blob.
public struct Descriptor: Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64

    public init(mediaType: String, digest: String, size: Int64) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }

    init(json: JSONValue, what: String) throws(BerthError) {
        guard let digest = json["digest"]?.stringValue, Self.isSHA256(digest), let size = json["size"]?.int64Value,
            size >= 0
        else { throw .invalidArgument("the registry's manifest has a bad \(what) descriptor") }
        self.init(mediaType: json["mediaType"]?.stringValue ?? "", digest: digest, size: size)
    }

    public var hex: String { String(digest.dropFirst(7)) }
    public var json: JSONValue {
        .object([("mediaType", .string(mediaType)), ("digest", .string(digest)), ("size", .int(size))])
    }

    static func isSHA256(_ d: String) -> Bool {
        d.hasPrefix("sha256:") && d.utf8.count == 71
            && d.utf8.dropFirst(7).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// `os/architecture[/variant]`, as `--platform` takes it.
public struct Platform: Sendable, Equatable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String = "amd64", variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public init(parsing text: String) throws(BerthError) {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidArgument("\"\(text)\": unknown platform: expected os/arch[/variant]")
        }
        self.init(
            os: parts[0], architecture: parts[1] == "x86_64" ? "amd64" : parts[1],
            variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/\($0)" } ?? "") }
}

/// What a pull resolved a reference to, before any layer is fetched.
public struct ResolvedImage: Sendable {
    public let reference: ImageReference
    /// The digest the reference points at on the registry (an index's, for a multi-platform image).
    public let digest: String
    public let config: Descriptor
    public let layers: [Descriptor]
}

/// `docker pull`: the manifest (through an index to the platform's), the config and the layers, every blob
/// checked against its digest and size before it is kept; layers fetched a few at a time, resumed with ranges
/// after a cut connection, and shared between pulls that need the same blob at once.
public struct ImagePuller: Sendable {
    public let store: ImageStore
    public let client: RegistryClient
    public let runner: any BlockingRunner
    /// Layers downloaded at once.
    public var concurrency = 3

    public static let manifestTypes = [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]

    public init(store: ImageStore, client: RegistryClient, runner: any BlockingRunner) {
        self.store = store
        self.client = client
        self.runner = runner
    }

    var tmpDir: String { store.content.tmpDir }

    /// Fetches the manifest (and through an index the platform's), checking digests.
    /// - Throws: `.notFound` for an unknown tag or repository (Docker's wording), `.unauthorized`, `.unavailable`
    ///   when the registry cannot be reached.
    public func resolve(_ ref: ImageReference, platform: Platform?) async throws(BerthError) -> ResolvedImage {
        let wanted = platform ?? Platform()
        let name = ref.description
        let (topBytes, topType) = try await fetchManifest(ref.digest ?? ref.tag ?? "latest", name: name)
        let topDigest = "sha256:" + SHA256.hash(topBytes)
        if let d = ref.digest, d != topDigest {
            throw .invalidArgument("manifest verification failed for digest \(d): the registry sent \(topDigest)")
        }
        var manifest = try Self.parse(topBytes)
        var type = manifest["mediaType"]?.stringValue ?? topType
        if type.contains("manifest.list") || type.contains("image.index") || manifest["manifests"] != nil {
            let entries = manifest["manifests"]?.arrayValue ?? []
            let match = entries.first { e in
                let p = e["platform"]
                return p?["os"]?.stringValue == wanted.os && p?["architecture"]?.stringValue == wanted.architecture
                    && (wanted.variant == nil || p?["variant"]?.stringValue == wanted.variant)
            }
            guard let match else { throw .notFound("no matching manifest for \(wanted) in the manifest list entries") }
            let child = try Descriptor(json: match, what: "manifest")
            let (bytes, childType) = try await fetchManifest(child.digest, name: name)
            guard "sha256:" + SHA256.hash(bytes) == child.digest else {
                throw .invalidArgument("manifest verification failed for digest \(child.digest)")
            }
            manifest = try Self.parse(bytes)
            type = manifest["mediaType"]?.stringValue ?? childType
        }
        if type.hasPrefix("application/vnd.docker.distribution.manifest.v1") || manifest["schemaVersion"]?.intValue == 1
        {
            throw BerthError(.unsupported, "\(name): Docker schema 1 manifests are not supported")
        }
        guard let configJSON = manifest["config"] else { throw .invalidArgument("\(name): the manifest has no config") }
        let config = try Descriptor(json: configJSON, what: "config")
        var layers: [Descriptor] = []
        for l in manifest["layers"]?.arrayValue ?? [] { layers.append(try Descriptor(json: l, what: "layer")) }
        if let requested = platform {
            // A single-platform image says its platform in its config; a wrong one is refused only when asked for.
            let bytes = try await fetchBlobToMemory(config)
            let c = try Self.parse(bytes)
            let os = c["os"]?.stringValue ?? "", arch = c["architecture"]?.stringValue ?? ""
            if os != requested.os || arch != requested.architecture {
                throw .notFound(
                    "image with reference \(name) was found but does not match the specified platform: wanted \(requested), actual: \(os)/\(arch)"
                )
            }
        }
        return ResolvedImage(reference: ref, digest: topDigest, config: config, layers: layers)
    }

    /// Fetches what `resolve` found and stores it as an image named by the reference (tag or digest).
    /// `emit` gets Docker's JSON progress messages.
    public func pull(_ r: ResolvedImage, emit: @escaping @Sendable (JSONValue) -> Void) async throws(BerthError)
        -> ImageRecord
    {
        let repoDigest = "\(r.reference.repository)@\(r.digest)"
        let configBytes = try await fetchBlobToMemory(r.config)
        let config = try Self.parse(configBytes)
        let diffIDs = config["rootfs"]?["diff_ids"]?.stringArray ?? []
        guard diffIDs.count == r.layers.count else {
            throw .invalidArgument(
                "\(r.reference): the config lists \(diffIDs.count) layers, the manifest \(r.layers.count)")
        }
        // Storage layers are named by chain IDs: sha256(chainID(n-1) + " " + diffID(n)).
        var chains: [String] = []
        for (i, diff) in diffIDs.enumerated() {
            guard Descriptor.isSHA256(diff) else { throw .invalidArgument("\(r.reference): bad diff ID \(diff)") }
            chains.append(
                i == 0 ? String(diff.dropFirst(7)) : SHA256.hash(Array("sha256:\(chains[i - 1]) \(diff)".utf8)))
        }
        var present: [Bool] = []
        for c in chains { present.append(await store.storage.exists(id: c)) }
        for (i, l) in r.layers.enumerated() {
            emit(Self.progress(present[i] ? "Already exists" : "Pulling fs layer", id: l.hex))
        }
        // Downloads, a few at once; then the layers are applied bottom first.
        let missing = r.layers.indices.filter { !present[$0] }
        try await download(missing.map { r.layers[$0] }, emit: emit)
        var size: Int64 = 0
        for (i, l) in r.layers.enumerated() {
            if present[i] {
                size += (try? await store.storage.usage(id: chains[i])) ?? 0
                continue
            }
            let blob = store.content.path(hex: l.hex)
            emit(Self.progress("Extracting", id: l.hex, current: 0, total: l.size))
            let (diffHex, _) = try await runner.run { () throws(BerthError) in
                try ArchiveDigest.uncompressedSHA256(path: blob)
            }
            guard "sha256:" + diffHex == diffIDs[i] else {
                throw .invalidArgument(
                    "\(r.reference): layer \(l.digest) unpacks to sha256:\(diffHex), not the config's \(diffIDs[i])")
            }
            // Two pulls of one image at once make each layer once (the second waits for the first).
            let storage = store.storage
            let (chain, parent) = (chains[i], i == 0 ? nil : chains[i - 1])
            try await BlobFetches.shared.fetch("layer:" + chain) { () throws(BerthError) in
                if await storage.exists(id: chain) { return }
                _ = try await storage.createLayer(id: chain, parent: parent, applying: blob)
            }
            size += (try? await storage.usage(id: chain)) ?? 0
            emit(Self.progress("Pull complete", id: l.hex))
        }
        let id = try store.content.put(configBytes)
        guard id == r.config.digest else { throw .internalError("config digest changed while stored") }
        var record = ImageRecord(
            id: id, config: config, layers: chains, repoTags: r.reference.tag != nil ? [r.reference.description] : [],
            size: size, lastTagTime: Clock.nowNanos())
        record.repoDigests = [repoDigest]
        record.layerBlobs = r.layers.map(\.json)
        try await store.add(record)
        return try await store.resolve(id)
    }

    // MARK: - Blobs

    func download(_ layers: [Descriptor], emit: @escaping @Sendable (JSONValue) -> Void) async throws(BerthError) {
        var next = layers[...]
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                func start(_ l: Descriptor) {
                    group.addTask {
                        try await BlobFetches.shared.fetch(l.digest) { () throws(BerthError) in
                            try await fetchBlob(l, emit: emit)
                        }
                    }
                }
                for _ in 0..<max(1, concurrency) { if let l = next.popFirst() { start(l) } }
                while try await group.next() != nil { if let l = next.popFirst() { start(l) } }
            }
        } catch let e as BerthError {
            throw e
        } catch {
            throw .internalError("pull: \(error)")
        }
    }

    /// Downloads one blob into the content store, resuming a partial download (this pull's or an earlier
    /// one's) and retrying a cut connection twice; verified against its digest and size.
    func fetchBlob(_ l: Descriptor, emit: @escaping @Sendable (JSONValue) -> Void) async throws(BerthError) {
        if store.content.exists(hex: l.hex) {
            emit(Self.progress("Download complete", id: l.hex))
            return
        }
        let partial = "\(tmpDir)/\(l.hex).partial"
        let client = self.client
        var attempt = 0
        while true {
            attempt += 1
            do throws(BerthError) {
                let result = try await runner.run { () throws(BerthError) -> CurlTransfer.Response in
                    let fd = try Syscall.call("open \(partial)") {
                        open(partial, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                    }
                    defer { close(fd) }
                    var st = stat()
                    fstat(fd, &st)
                    let have = Int64(st.st_size)
                    let seed = FastSHA256()
                    if have > 0 {
                        let bytes = try FileSystem.readFile(partial)
                        seed.update(bytes)
                    }
                    let headers = have > 0 ? ["Range: bytes=\(have)-"] : []
                    var lastReport = Int64(0)
                    var r = try client.request(
                        "GET", "blobs/\(l.digest)", headers: headers, outputFD: fd, hashSeed: seed
                    ) { now in
                        if now - lastReport >= 512 << 10 {
                            lastReport = now
                            emit(Self.progress("Downloading", id: l.hex, current: have + now, total: l.size))
                        }
                        return true
                    }
                    if have > 0, r.status == 200 {
                        // The registry ignored the range: the whole blob followed what was there. Start over.
                        _ = ftruncate(fd, 0)
                        r = try client.request("GET", "blobs/\(l.digest)", outputFD: fd, hashSeed: FastSHA256())
                    } else if have > 0, r.status == 206 {
                        r.fileBytes += have
                    } else if have > 0, r.status == 416 {
                        // The partial file is no prefix of the blob: start over.
                        unlink(partial)
                        throw BerthError.unavailable("the registry refused to resume \(l.digest)")
                    }
                    return r
                }
                guard result.status == 200 || result.status == 206 else {
                    unlink(partial)
                    let f = RegistryClient.failure(result)
                    if result.status == 404 { throw BerthError.notFound("blob \(l.digest) not found: \(f.message)") }
                    if result.status == 401 || result.status == 403 {
                        throw BerthError.unauthorized("pull access denied: \(f.message)")
                    }
                    throw BerthError.unavailable("download of \(l.digest) failed: \(f.message)")
                }
                emit(Self.progress("Verifying Checksum", id: l.hex))
                guard result.fileDigest == l.digest, result.fileBytes == l.size else {
                    unlink(partial)
                    throw BerthError.invalidArgument("filesystem layer verification failed for digest \(l.digest)")
                }
                try store.content.adopt(file: partial, hex: l.hex, verify: false)
                emit(Self.progress("Download complete", id: l.hex))
                return
            } catch {
                guard error.code == .unavailable, attempt < 3 else { throw error }
                emit(Self.progress("Retrying in \(attempt) second\(attempt == 1 ? "" : "s")", id: l.hex))
                try? await Task.sleep(nanoseconds: UInt64(attempt) * 1_000_000_000)
            }
        }
    }

    /// A small blob (the config), verified.
    func fetchBlobToMemory(_ d: Descriptor) async throws(BerthError) -> [UInt8] {
        if store.content.exists(hex: d.hex) { return try store.content.read(hex: d.hex) }
        let client = self.client
        let r = try await runner.run { () throws(BerthError) in try client.request("GET", "blobs/\(d.digest)") }
        guard r.status == 200 else {
            throw .unavailable("config blob \(d.digest): \(RegistryClient.failure(r).message)")
        }
        guard "sha256:" + SHA256.hash(r.body) == d.digest else {
            throw .invalidArgument("config verification failed for digest \(d.digest)")
        }
        return r.body
    }

    func fetchManifest(_ reference: String, name: String) async throws(BerthError) -> ([UInt8], String) {
        let client = self.client
        let accept = "Accept: " + Self.manifestTypes.joined(separator: ", ")
        let r = try await runner.run { () throws(BerthError) in
            try client.request("GET", "manifests/\(reference)", headers: [accept])
        }
        switch r.status {
        case 200:
            return (r.body, (r.header("content-type") ?? "").split(separator: ";").first.map(String.init) ?? "")
        case 401, 403:
            let f = RegistryClient.failure(r)
            throw .unauthorized(
                "pull access denied for \(name), repository does not exist or may require 'docker login': denied: \(f.message)"
            )
        case 404:
            let f = RegistryClient.failure(r)
            if f.code == "NAME_UNKNOWN" {
                throw .notFound(
                    "repository \(name.prefix { $0 != ":" && $0 != "@" }) not found: name unknown: \(f.message)")
            }
            throw .notFound("manifest for \(name) not found: manifest unknown: \(f.message)")
        default:
            throw .unavailable("\(client.location.host): manifest for \(name): \(RegistryClient.failure(r).message)")
        }
    }

    static func parse(_ bytes: [UInt8]) throws(BerthError) -> JSONValue {
        do { return try JSONValue.parse(bytes: bytes) } catch {
            throw .invalidArgument("the registry sent malformed JSON: \(error.message)")
        }
    }

    /// One line of Docker's pull progress.
    public static func progress(_ status: String, id: String, current: Int64? = nil, total: Int64? = nil) -> JSONValue {
        var detail: JSONValue = .object([])
        if let current { detail["current"] = .int(current) }
        if let total, total > 0 { detail["total"] = .int(total) }
        return .object([
            ("status", .string(status)), ("progressDetail", detail), ("id", .string(String(id.prefix(12)))),
        ])
    }
}

/// Pulls that need the same blob at once share one download.
actor BlobFetches {
    static let shared = BlobFetches()
    private var running: [String: Task<Void, any Error>] = [:]

    func fetch(_ digest: String, _ body: @escaping @Sendable () async throws(BerthError) -> Void)
        async throws(BerthError)
    {
        let task: Task<Void, any Error>
        if let existing = running[digest] {
            task = existing
        } else {
            task = Task { try await body() }
            running[digest] = task
        }
        defer { if running[digest] == task { running[digest] = nil } }
        do { try await task.value } catch let e as BerthError { throw e } catch { throw .internalError("\(error)") }
    }
}
