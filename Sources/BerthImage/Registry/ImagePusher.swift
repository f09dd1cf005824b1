import BerthCore
import BerthOS
import Glibc

/// `docker push`: each layer blob the registry lacks (asked with HEAD) is mounted from another repository of
/// the same registry when the image came from one, or uploaded (POST, then one streamed PUT); then the config
/// and the manifest. The manifest is Docker's schema 2 when the layers are Docker's media types, OCI otherwise.
public struct ImagePusher: Sendable {
    public let store: ImageStore
    public let client: RegistryClient
    public let runner: any BlockingRunner
    /// Blobs larger than this go up in chunks of this size (PATCH with Content-Range, then a PUT with the
    /// digest); smaller ones in one PUT.
    public var chunkSize: Int64 = 16 << 20

    public init(store: ImageStore, client: RegistryClient, runner: any BlockingRunner) {
        self.store = store
        self.client = client
        self.runner = runner
    }

    public struct Result: Sendable {
        public let digest: String
        public let size: Int
    }

    /// Pushes `record` as `reference` (a tag). `emit` gets Docker's JSON progress messages.
    public func push(_ record: ImageRecord, as reference: ImageReference, emit: @escaping @Sendable (JSONValue) -> Void)
        async throws(BerthError) -> Result
    {
        guard let tag = reference.tag else { throw .invalidArgument("push needs a tag: \(reference)") }
        let blobs = try record.layerBlobs.map { json throws(BerthError) in try Descriptor(json: json, what: "layer") }
        guard blobs.count == record.layers.count, blobs.allSatisfy({ store.content.exists(hex: $0.hex) }) else {
            throw BerthError(
                .unsupported,
                "the layers of \(reference) are not kept as blobs (an image from an older Berth, or imported from an archive it could not keep): it cannot be pushed"
            )
        }
        let docker = blobs.first.map { $0.mediaType.hasPrefix("application/vnd.docker.") } ?? true
        // Repositories of the same registry this image was pulled from: a blob there can be mounted.
        let sources = record.repoDigests.compactMap { rd -> String? in
            let repo = String(rd.prefix { $0 != "@" })
            let loc = RegistryLocation(repository: repo)
            return loc.host == client.location.host && loc.path != client.location.path ? loc.path : nil
        }
        for b in blobs.reversed() { emit(ImagePuller.progress("Preparing", id: b.hex)) }
        for b in blobs.reversed() {
            try await pushBlob(b, mountFrom: sources, emit: emit)
        }
        let configBytes = try store.content.read(hex: record.hex)
        let config = Descriptor(
            mediaType: docker
                ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json",
            digest: record.id, size: Int64(configBytes.count))
        try await pushBlob(config, mountFrom: [], emit: nil)
        let manifestType =
            docker
            ? "application/vnd.docker.distribution.manifest.v2+json" : "application/vnd.oci.image.manifest.v1+json"
        let manifest: JSONValue = .object([
            ("schemaVersion", .int(2)), ("mediaType", .string(manifestType)), ("config", config.json),
            ("layers", .array(blobs.map(\.json))),
        ])
        let bytes = Array(manifest.serialized.utf8)
        let registry = self.client
        let r = try await runner.run { () throws(BerthError) in
            try registry.request("PUT", "manifests/\(tag)", headers: ["Content-Type: \(manifestType)"], body: bytes)
        }
        guard r.status == 201 || r.status == 200 else { throw Self.error(r, what: "manifest \(reference)") }
        let digest = "sha256:" + SHA256.hash(bytes)
        _ = try? store.content.put(bytes)
        var updated = record
        updated.repoDigests = [reference.repository + "@" + digest]
        updated.repoTags = []
        try await store.add(updated)
        return Result(digest: digest, size: bytes.count)
    }

    func pushBlob(_ b: Descriptor, mountFrom sources: [String], emit: (@Sendable (JSONValue) -> Void)?)
        async throws(BerthError)
    {
        let client = self.client
        let path = store.content.path(hex: b.hex)
        let status: String = try await runner.run { () throws(BerthError) -> String in
            let head = try client.request("HEAD", "blobs/\(b.digest)")
            if head.status == 200 { return "Layer already exists" }
            for from in sources {
                let m = try client.request(
                    "POST", "blobs/uploads/?mount=\(b.digest)&from=\(RegistryClient.percentEncode(from))", body: [])
                if m.status == 201 { return "Mounted from \(from)" }
                if m.status == 202, let location = m.header("location") {
                    // Not mounted: the registry opened an upload instead; it is used below after a cancel.
                    _ = try? client.request("DELETE", location)
                }
            }
            let start = try client.request("POST", "blobs/uploads/", body: [])
            guard start.status == 202, let location = start.header("location") else {
                throw Self.error(start, what: "upload of \(b.digest)")
            }
            let fd = try Syscall.call("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
            defer { close(fd) }
            func digestURL(_ location: String) -> String {
                location + (location.contains("?") ? "&" : "?") + "digest=\(b.digest)"
            }
            var last = Int64(0)
            func report(_ now: Int64) -> Bool {
                if let emit, now - last >= 512 << 10 {
                    last = now
                    emit(ImagePuller.progress("Pushing", id: b.hex, current: now, total: b.size))
                }
                return true
            }
            if b.size <= chunkSize {
                let put = try client.request(
                    "PUT", digestURL(location), headers: ["Content-Type: application/octet-stream"], inputFD: fd,
                    inputSize: b.size, onProgress: report)
                guard put.status == 201 else { throw Self.error(put, what: "upload of \(b.digest)") }
                return "Pushed"
            }
            var next = location
            var offset: Int64 = 0
            while offset < b.size {
                let n = min(chunkSize, b.size - offset)
                _ = lseek(fd, off_t(offset), SEEK_SET)
                let base = offset
                let patch = try client.request(
                    "PATCH", next,
                    headers: ["Content-Type: application/octet-stream", "Content-Range: \(offset)-\(offset + n - 1)"],
                    inputFD: fd, inputSize: n
                ) { report(base + $0) }
                guard patch.status == 202, let moved = patch.header("location") else {
                    throw Self.error(patch, what: "upload of \(b.digest) at \(offset)")
                }
                next = moved
                offset += n
            }
            let put = try client.request("PUT", digestURL(next), body: [])
            guard put.status == 201 else { throw Self.error(put, what: "upload of \(b.digest)") }
            return "Pushed"
        }
        emit?(ImagePuller.progress(status, id: b.hex))
    }

    static func error(_ r: CurlTransfer.Response, what: String) -> BerthError {
        let f = RegistryClient.failure(r)
        switch r.status {
        case 401, 403: return .unauthorized("unauthorized: \(f.message)")
        case 404: return .notFound("\(what): \(f.message)")
        default: return .unavailable("\(what) failed: \(f.message)\(f.code.isEmpty ? "" : " (\(f.code))")")
        }
    }
}
