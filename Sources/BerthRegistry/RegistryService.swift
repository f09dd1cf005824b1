import BerthCore
import Logging

/// One request as the registry sees it: method, path, decoded query and headers.
struct RegistryRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [(String, String)]
    /// `https` behind TLS; used for the absolute `Location` of uploads.
    var scheme: String

    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }

    /// The base of absolute `Location`s: `http://HOST` from the request's Host header, else a relative one.
    var origin: String {
        guard let host = header("Host"), !host.isEmpty else { return "" }
        return "\(scheme)://\(host)"
    }
}

/// What a response carries.
struct RegistryResponse: Sendable {
    enum Body: Sendable {
        case bytes([UInt8])
        /// `length` bytes of the file at `path` from `offset` (blob downloads; sent without reading into memory).
        case file(path: String, offset: Int, length: Int)
    }
    var status: Int
    var headers: [(String, String)]
    var body: Body

    init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func error(_ e: RegistryError, headers: [(String, String)] = []) -> RegistryResponse {
        RegistryResponse(
            status: e.status, headers: headers + [("Content-Type", "application/json; charset=utf-8")],
            body: .bytes(e.body))
    }

    static func json(_ value: JSONValue, headers: [(String, String)] = []) -> RegistryResponse {
        RegistryResponse(
            status: 200, headers: headers + [("Content-Type", "application/json; charset=utf-8")],
            body: .bytes(Array(value.serialized.utf8) + [0x0A]))
    }
}

/// What the connection does with a request's body before the response can be made.
enum BodyPlan: Sendable {
    /// Read and drop the body, then send this.
    case respond(RegistryResponse)
    /// Keep up to `limit` bytes in memory, then ask `finish`.
    case collect(limit: Int, finish: @Sendable ([UInt8]) -> RegistryResponse)
    /// Append the body to an upload as it arrives, then ask `finish` (with the append error, if one happened).
    case upload(UploadSession, finish: @Sendable (RegistryError?) -> RegistryResponse)
}

/// The distribution API's routes over a `RegistryStore`, with the access check in front.
final class RegistryService: Sendable {
    let store: RegistryStore
    let auth: RegistryAuth?
    let allowDelete: Bool
    let logger: Logger

    /// Manifests are small documents; distribution refuses those over 4 MiB as well.
    static let manifestLimit = 4 << 20

    init(store: RegistryStore, auth: RegistryAuth?, allowDelete: Bool, logger: Logger) {
        self.store = store
        self.auth = auth
        self.allowDelete = allowDelete
        self.logger = logger
    }

    /// Routes a request once its head is in.
    func plan(_ request: RegistryRequest) -> BodyPlan {
        // A health check for load balancers and scripts, open as distribution's.
        if request.path == "/", request.method == "GET" || request.method == "HEAD" {
            return .respond(RegistryResponse(status: 200))
        }
        if let auth, !auth.authorizes(request.header("Authorization")) {
            return .respond(.error(.unauthorized(), headers: [("WWW-Authenticate", "Basic realm=\"\(auth.realm)\"")]))
        }
        do {
            return try route(request)
        } catch {
            return .respond(.error(error))
        }
    }

    private func route(_ request: RegistryRequest) throws(RegistryError) -> BodyPlan {
        guard request.path == "/v2" || request.path.hasPrefix("/v2/") else {
            throw RegistryError("NOT_FOUND", 404, "page not found", detail: request.path)
        }
        let rest = request.path.dropFirst(4)
        let method = request.method
        if rest.isEmpty {
            guard method == "GET" || method == "HEAD" else { throw .unsupported("\(method) /v2/") }
            return .respond(.json(.object([])))
        }
        if rest == "_catalog" {
            guard method == "GET" else { throw .unsupported("\(method) /v2/_catalog") }
            return .respond(try catalog(request))
        }
        var segments = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let last = segments.removeLast()
        guard let kind = segments.popLast() else { throw RegistryError("NOT_FOUND", 404, "page not found") }
        switch (kind, last) {
        case ("tags", "list"):
            let name = try repository(segments)
            guard method == "GET" else { throw .unsupported("\(method) tags") }
            return .respond(try tagList(name, request))
        case ("blobs", "uploads"):
            return try uploadRoute(try repository(segments), id: "", request)
        case ("uploads", _) where segments.last == "blobs":
            segments.removeLast()
            return try uploadRoute(try repository(segments), id: last, request)
        case ("blobs", _):
            return .respond(try blobRoute(try repository(segments), digest: last.removingPercentEncoding, request))
        case ("manifests", _):
            return try manifestRoute(try repository(segments), reference: last.removingPercentEncoding, request)
        default:
            throw RegistryError("NOT_FOUND", 404, "page not found", detail: request.path)
        }
    }

    private func repository(_ segments: [String]) throws(RegistryError) -> String {
        let name = segments.joined(separator: "/")
        guard RegistryNames.isValidRepository(name) else { throw .nameInvalid(name) }
        return name
    }

    // MARK: Blobs

    private func blobRoute(_ name: String, digest: String, _ request: RegistryRequest) throws(RegistryError)
        -> RegistryResponse
    {
        switch request.method {
        case "GET", "HEAD":
            let (path, size) = try store.blobSize(name, digest: digest)
            var headers = [
                ("Docker-Content-Digest", digest), ("Content-Type", "application/octet-stream"),
                ("ETag", "\"\(digest)\""), ("Accept-Ranges", "bytes"), ("Cache-Control", "max-age=31536000"),
            ]
            if let range = request.header("Range"), let (start, end) = Self.byteRange(range, size: size) {
                headers.append(("Content-Range", "bytes \(start)-\(end)/\(size)"))
                return RegistryResponse(
                    status: 206, headers: headers, body: .file(path: path, offset: start, length: end - start + 1))
            } else if request.header("Range") != nil {
                throw .rangeInvalid("range \(request.header("Range") ?? "") of a blob of \(size) bytes")
            }
            return RegistryResponse(status: 200, headers: headers, body: .file(path: path, offset: 0, length: size))
        case "DELETE":
            guard allowDelete else { throw .unsupported("deletion is disabled on this registry") }
            try store.unlinkBlob(name, digest: digest)
            return RegistryResponse(status: 202, headers: [("Docker-Content-Digest", digest)])
        default:
            throw .unsupported("\(request.method) on a blob")
        }
    }

    /// `bytes=START-` or `bytes=START-END`, clamped to the blob; nil when unsatisfiable.
    static func byteRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes=") else { return nil }
        let spec = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2, let start = Int(spec[0]), start >= 0, start < size else { return nil }
        if spec[1].isEmpty { return (start, size - 1) }
        guard let end = Int(spec[1]), end >= start else { return nil }
        return (start, min(end, size - 1))
    }

    // MARK: Uploads

    private func uploadRoute(_ name: String, id: String, _ request: RegistryRequest) throws(RegistryError) -> BodyPlan {
        switch (request.method, id.isEmpty) {
        case ("POST", true):
            if let digest = request.query["mount"] {
                if let from = request.query["from"], try store.mount(name, digest: digest, from: from) {
                    return .respond(
                        RegistryResponse(
                            status: 201,
                            headers: [
                                ("Location", "\(request.origin)/v2/\(name)/blobs/\(digest)"),
                                ("Docker-Content-Digest", digest), ("Content-Length", "0"),
                            ]))
                }
            }
            let session = try store.startUpload(name)
            if let digest = request.query["digest"] {
                // Monolithic: the whole blob is this request's body.
                return .upload(session) { error in self.complete(session, digest: digest, error: error, request) }
            }
            return .upload(session) { error in
                if let error {
                    self.store.cancelUpload(session)
                    return .error(error)
                }
                return self.progress(session, status: 202, request)
            }
        case ("PATCH", false):
            let session = try store.upload(name, id: id)
            try checkContentRange(request, session)
            return .upload(session) { error in
                if let error { return .error(error) }
                return self.progress(session, status: 202, request)
            }
        case ("PUT", false):
            let session = try store.upload(name, id: id)
            try checkContentRange(request, session)
            guard let digest = request.query["digest"] else {
                throw .digestInvalid("the digest query parameter is required to finish an upload")
            }
            return .upload(session) { error in self.complete(session, digest: digest, error: error, request) }
        case ("GET", false):
            let session = try store.upload(name, id: id)
            return .respond(progress(session, status: 204, request))
        case ("DELETE", false):
            let session = try store.upload(name, id: id)
            store.cancelUpload(session)
            return .respond(RegistryResponse(status: 204))
        default:
            throw .unsupported("\(request.method) on uploads")
        }
    }

    /// A chunk must start where the upload ends (`Content-Range: START-END`).
    private func checkContentRange(_ request: RegistryRequest, _ session: UploadSession) throws(RegistryError) {
        guard let range = request.header("Content-Range") else { return }
        let text = range.hasPrefix("bytes ") ? String(range.dropFirst(6)) : range
        let parts = text.split(separator: "-", maxSplits: 1)
        guard let start = parts.first.flatMap({ Int($0) }) else {
            throw .blobUploadInvalid("malformed Content-Range \(range)")
        }
        guard start == session.size else {
            throw .rangeInvalid("chunk starts at \(start) but the upload has \(session.size) bytes")
        }
    }

    private func progress(_ session: UploadSession, status: Int, _ request: RegistryRequest) -> RegistryResponse {
        let size = session.size
        return RegistryResponse(
            status: status,
            headers: [
                ("Location", "\(request.origin)/v2/\(session.repository)/blobs/uploads/\(session.id)"),
                ("Range", "0-\(max(size - 1, 0))"), ("Docker-Upload-UUID", session.id), ("Content-Length", "0"),
            ])
    }

    private func complete(_ session: UploadSession, digest: String, error: RegistryError?, _ request: RegistryRequest)
        -> RegistryResponse
    {
        if let error {
            store.cancelUpload(session)
            return .error(error)
        }
        do {
            try store.finishUpload(session, digest: digest)
        } catch {
            return .error(error)
        }
        return RegistryResponse(
            status: 201,
            headers: [
                ("Location", "\(request.origin)/v2/\(session.repository)/blobs/\(digest)"),
                ("Docker-Content-Digest", digest), ("Content-Length", "0"),
            ])
    }
}
