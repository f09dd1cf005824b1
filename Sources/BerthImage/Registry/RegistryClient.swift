import BerthArchive
import BerthCore
import BerthOS
import Glibc
import Synchronization

/// Credentials for one registry, as the docker CLI sends them in `X-Registry-Auth` (base64url JSON).
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    /// An OAuth refresh token (`identitytoken`), used instead of the password for Bearer tokens.
    public var identityToken: String

    public init(username: String = "", password: String = "", identityToken: String = "") {
        self.username = username
        self.password = password
        self.identityToken = identityToken
    }

    /// Decodes an `X-Registry-Auth` header; nil when it is empty or holds no credentials.
    public init?(header: String) {
        guard !header.isEmpty, let bytes = Base64.decodeURLSafe(header),
            let json = try? JSONValue.parse(bytes: bytes)
        else { return nil }
        username = json["username"]?.stringValue ?? ""
        password = json["password"]?.stringValue ?? ""
        identityToken = json["identitytoken"]?.stringValue ?? ""
        if username.isEmpty, password.isEmpty, identityToken.isEmpty { return nil }
    }
}

/// Where a repository lives: the registry host and the repository path on it, Docker's way (`busybox` is
/// `library/busybox` on Docker Hub, `127.0.0.1:5000/app` is `app` on 127.0.0.1:5000).
public struct RegistryLocation: Sendable, Equatable {
    /// The host as named (`127.0.0.1:5000`, `docker.io`).
    public var host: String
    /// The host the API is served on (Docker Hub's is `registry-1.docker.io`).
    public var apiHost: String
    public var path: String

    public init(repository: String) {
        let parts = repository.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            host = parts[0]
            path = parts[1]
        } else {
            host = "docker.io"
            path = parts.count == 1 ? "library/" + repository : repository
        }
        apiHost = host == "docker.io" ? "registry-1.docker.io" : host
    }

    /// Loopback registries may speak plain HTTP, as with Docker.
    public var isLoopback: Bool {
        let name =
            host.hasPrefix("[") ? String(host.dropFirst().prefix { $0 != "]" }) : String(host.prefix { $0 != ":" })
        return name == "localhost" || name.hasPrefix("127.") || name == "::1"
    }
}

/// A client of one registry for one repository: the OCI distribution API over libcurl, with the
/// `WWW-Authenticate` challenge (Bearer tokens and basic auth), HTTPS first and plain HTTP for insecure
/// registries (loopback ones and those configured), and custom CAs from `certs.d/HOST/`.
public final class RegistryClient: Sendable {
    public let location: RegistryLocation
    let credentials: RegistryCredentials?
    let insecure: Bool
    let caFile: String?
    /// The scheme found to work, and the Authorization header for the repository.
    private let state = Mutex<(scheme: String?, authorization: String?)>((nil, nil))

    /// - Parameters:
    ///   - insecureRegistries: hosts (`HOST:PORT`) allowed to use plain HTTP besides loopback ones.
    ///   - certsDir: the directory holding `HOST:PORT/ca.crt` files (`/etc/berth/certs.d`).
    public init(
        location: RegistryLocation, credentials: RegistryCredentials?, insecureRegistries: [String] = [],
        certsDir: String? = nil
    ) {
        self.location = location
        self.credentials = credentials
        insecure = location.isLoopback || insecureRegistries.contains(location.host)
        let ca = certsDir.map { "\($0)/\(location.host)/ca.crt" }
        caFile = ca.flatMap { FileSystem.exists($0) ? $0 : nil }
    }

    public struct Failure: Error, Sendable {
        public let status: Int
        /// The first error code of the registry's answer (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …).
        public let code: String
        public let message: String
    }

    /// Sends a request to `/v2/<repository path>/<suffix>` (or `/v2/<suffix>` with `repository: false`; or to
    /// `suffix` itself when it is an absolute URL or path, as upload locations are), answering an authentication
    /// challenge once. `inputFD` streams a file as the body (`inputSize` bytes from its current offset).
    public func request(
        _ method: String, _ suffix: String, repository: Bool = true, headers: [String] = [], body: [UInt8]? = nil,
        inputFD: Int32 = -1, inputSize: Int64 = 0, outputFD: Int32 = -1, hashSeed: FastSHA256? = nil,
        onProgress: ((Int64) -> Bool)? = nil
    ) throws(BerthError) -> CurlTransfer.Response {
        let path =
            suffix.hasPrefix("http://") || suffix.hasPrefix("https://") || suffix.hasPrefix("/")
            ? suffix : repository ? "/v2/\(location.path)/\(suffix)" : "/v2/\(suffix)"
        let inputStart = inputFD >= 0 ? lseek(inputFD, 0, SEEK_CUR) : 0
        let io = IO(body: body, inputFD: inputFD, inputSize: inputSize, outputFD: outputFD, seed: hashSeed)
        var response = try send(method, path, headers, io, onProgress)
        if response.status == 401, let challenge = response.header("www-authenticate") {
            try authenticate(challenge)
            if outputFD >= 0 { _ = ftruncate(outputFD, 0) }
            if inputFD >= 0 { _ = lseek(inputFD, inputStart, SEEK_SET) }
            response = try send(method, path, headers, io, onProgress)
        }
        return response
    }

    struct IO {
        var body: [UInt8]?
        var inputFD: Int32
        var inputSize: Int64
        var outputFD: Int32
        var seed: FastSHA256?
    }

    private func send(
        _ method: String, _ path: String, _ headers: [String], _ io: IO, _ onProgress: ((Int64) -> Bool)?
    ) throws(BerthError) -> CurlTransfer.Response {
        let (known, auth) = state.withLock { $0 }
        let absolute = path.hasPrefix("http")
        let schemes = absolute ? [""] : known.map { [$0] } ?? (insecure ? ["https", "http"] : ["https"])
        var lastError: BerthError? = nil
        for s in schemes {
            var t = CurlTransfer(url: absolute ? path : "\(s)://\(location.apiHost)\(path)")
            t.method = method
            t.headers = headers + (auth.map { ["Authorization: \($0)"] } ?? [])
            t.body = io.body
            t.inputFD = io.inputFD
            t.inputSize = io.inputSize
            t.outputFD = io.outputFD
            t.hashSeed = io.seed
            t.onProgress = onProgress
            t.caFile = caFile
            do {
                let r = try t.perform()
                if !absolute { state.withLock { $0.scheme = s } }
                return r
            } catch {
                lastError = error
            }
        }
        throw lastError ?? BerthError(.unavailable, "cannot reach \(location.host)")
    }

    /// Answers `WWW-Authenticate`: Basic sends the credentials; Bearer fetches a token from the realm (with the
    /// credentials, if any) for the challenge's scope.
    private func authenticate(_ challenge: String, scope: String? = nil) throws(BerthError) {
        let (kind, params) = Self.parseChallenge(challenge)
        switch kind.lowercased() {
        case "basic":
            guard let c = credentials, !c.username.isEmpty else {
                throw .unauthorized("no basic auth credentials")
            }
            let header = "Basic " + Base64.encode(Array("\(c.username):\(c.password)".utf8))
            state.withLock { $0.authorization = header }
        case "bearer":
            guard let realm = params["realm"], realm.hasPrefix("http") else {
                throw .unauthorized("\(location.host) asks for a token without a realm")
            }
            var query: [String] = []
            if let service = params["service"] { query.append("service=" + Self.percentEncode(service)) }
            let wanted = scope ?? params["scope"] ?? "repository:\(location.path):pull"
            if !wanted.isEmpty { query.append("scope=" + Self.percentEncode(wanted)) }
            var t = CurlTransfer(url: realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
            t.caFile = caFile
            if let c = credentials, !c.username.isEmpty {
                t.headers = ["Authorization: Basic " + Base64.encode(Array("\(c.username):\(c.password)".utf8))]
            }
            let r = try t.perform()
            guard r.status == 200 else {
                if r.status == 401 || r.status == 403 {
                    throw .unauthorized("unauthorized: incorrect username or password for \(location.host)")
                }
                throw .unavailable("token request to \(CurlTransfer.redacted(realm)) failed: HTTP \(r.status)")
            }
            let json = try? JSONValue.parse(bytes: r.body)
            guard let token = json?["token"]?.stringValue ?? json?["access_token"]?.stringValue, !token.isEmpty else {
                throw .unavailable("\(location.host)'s token service answered without a token")
            }
            state.withLock { $0.authorization = "Bearer " + token }
        default:
            throw .unauthorized("\(location.host) asks for an unsupported authentication scheme \(kind)")
        }
    }

    /// `docker login`: checks the credentials against the registry's `/v2/` (answering its challenge).
    /// - Throws: `.unauthorized` ("incorrect username or password") when the registry refuses them.
    public func checkLogin() throws(BerthError) {
        var r = try send("GET", "/v2/", [], IO(body: nil, inputFD: -1, inputSize: 0, outputFD: -1, seed: nil), nil)
        if r.status == 401, let challenge = r.header("www-authenticate") {
            // A login asks for a token with no scope, as Docker does.
            try authenticate(challenge, scope: "")
            r = try send("GET", "/v2/", [], IO(body: nil, inputFD: -1, inputSize: 0, outputFD: -1, seed: nil), nil)
        }
        guard r.status == 200 else {
            if r.status == 401 || r.status == 403 {
                throw .unauthorized("login attempt to \(location.host) failed with status: \(r.status) Unauthorized")
            }
            throw .unavailable("login to \(location.host): HTTP \(r.status)")
        }
    }

    /// `Bearer realm="…",service="…",scope="…"` → ("Bearer", [realm: …, service: …, scope: …]).
    static func parseChallenge(_ header: String) -> (String, [String: String]) {
        let kind = String(header.prefix { $0 != " " })
        var params: [String: String] = [:]
        var rest = Substring(header.dropFirst(kind.count))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\", rest.count > 1 {
                        rest = rest.dropFirst()
                    }
                    value.append(rest.first ?? c)
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.dropFirst(value.count)
            }
            params[key] = value
        }
        return (kind, params)
    }

    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// The registry's error for a failed request: its first `errors[].code` and message, or the HTTP status.
    public static func failure(_ r: CurlTransfer.Response) -> Failure {
        let json = try? JSONValue.parse(bytes: r.body)
        let first = json?["errors"]?.arrayValue?.first
        let code = first?["code"]?.stringValue ?? ""
        var message = first?["message"]?.stringValue ?? ""
        if message.isEmpty { message = "HTTP \(r.status)" }
        return Failure(status: r.status, code: code, message: message)
    }
}
