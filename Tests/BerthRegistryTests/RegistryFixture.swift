import BerthCore
import BerthRegistry
import BerthTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A `RegistryServer` in the test process on 127.0.0.1 and a free port, with its root in a temporary
/// directory; requests go through the `curl` program, so the server is seen from outside as clients see it.
final class RegistryFixture {
    let root: String
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var server: RegistryServer?
    private(set) var channel: (any Channel)?
    private(set) var port = 0
    var configuration: RegistryConfiguration

    init(root: String, configure: (inout RegistryConfiguration) -> Void = { _ in }) async throws {
        self.root = root
        var c = RegistryConfiguration()
        c.root = root + "/registry"
        c.port = 0
        configure(&c)
        configuration = c
        try await start()
    }

    /// Starts (again) on the same root; the port may change.
    func start() async throws {
        let server = try RegistryServer(configuration: configuration, logger: Logger(label: "test-registry"))
        let channel = try await server.bind(group: group)
        self.server = server
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel?.close()
        channel = nil
        server = nil
    }

    func shutdown() async {
        await stop()
        try? await group.shutdownGracefully()
    }

    var base: String { "\(configuration.tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue? { try? JSONValue.parse(bytes: body) }
        /// The first error code of a distribution error body.
        var errorCode: String? { json?["errors"]?.arrayValue?.first?["code"]?.stringValue }
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// One request with curl. `body` is sent as is (written to a file first).
    func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
        user: (String, String)? = nil, extra: [String] = []
    ) throws -> Response {
        let dir = root + "/curl"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let headerFile = dir + "/headers"
        let bodyFile = dir + "/body"
        var args = ["-s", "-S", "-o", bodyFile, "-D", headerFile, "-w", "%{http_code}"]
        if method == "HEAD" { args.append("-I") } else { args += ["-X", method] }
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if let body {
            let input = dir + "/input"
            try Data(body).write(to: URL(fileURLWithPath: input))
            args += ["--data-binary", "@" + input]
            if headers["Content-Type"] == nil { args += ["-H", "Content-Type: application/octet-stream"] }
        }
        if let (u, p) = user { args += ["-u", "\(u):\(p)"] }
        args += extra
        args.append(base + path)
        let r = try run("/usr/bin/curl", args)
        guard r.status == 0, let status = Int(r.output.suffix(3)) else {
            throw TestSupportError("curl \(method) \(path) failed: \(r.output)")
        }
        var headers: [String: String] = [:]
        let raw = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        for line in raw.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        let bytes = method == "HEAD" ? [] : Array((try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data())
        return Response(status: status, headers: headers, body: bytes)
    }

    /// Uploads `bytes` as one blob of `repository` (POST then PUT with the digest).
    @discardableResult
    func pushBlob(_ repository: String, _ bytes: [UInt8]) throws -> String {
        let digest = "sha256:" + SHA256.hash(bytes)
        let start = try request("POST", "/v2/\(repository)/blobs/uploads/")
        guard start.status == 202, let location = start.header("Location") else {
            throw TestSupportError("POST upload: \(start.status) \(start.text)")
        }
        let path = String(location.dropFirst(base.count))
        let done = try request("PUT", path + "?digest=\(digest)", body: bytes)
        guard done.status == 201 else { throw TestSupportError("PUT upload: \(done.status) \(done.text)") }
        return digest
    }

    /// Pushes a config and layers, then an image manifest naming them under `reference`.
    @discardableResult
    func pushImage(_ repository: String, reference: String, layers: [[UInt8]], config: [UInt8]) throws -> (
        digest: String, manifest: [UInt8]
    ) {
        let configDigest = try pushBlob(repository, config)
        var descriptors: [JSONValue] = []
        for layer in layers {
            let d = try pushBlob(repository, layer)
            descriptors.append(
                .object([
                    ("mediaType", .string("application/vnd.oci.image.layer.v1.tar")), ("digest", .string(d)),
                    ("size", .int(layer.count)),
                ]))
        }
        let manifest = JSONValue.object([
            ("schemaVersion", .int(2)), ("mediaType", .string("application/vnd.oci.image.manifest.v1+json")),
            (
                "config",
                .object([
                    ("mediaType", .string("application/vnd.oci.image.config.v1+json")),
                    ("digest", .string(configDigest)), ("size", .int(config.count)),
                ])
            ),
            ("layers", .array(descriptors)),
        ])
        let bytes = Array(manifest.serialized.utf8)
        let r = try request(
            "PUT", "/v2/\(repository)/manifests/\(reference)",
            headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"], body: bytes)
        guard r.status == 201, let digest = r.header("Docker-Content-Digest") else {
            throw TestSupportError("PUT manifest: \(r.status) \(r.text)")
        }
        return (digest, bytes)
    }

    /// Names of the files in the blob store.
    func storedBlobs() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: configuration.root + "/blobs/sha256")) ?? [])
    }
}
