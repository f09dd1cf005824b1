import BerthCore
import BerthOS
import Glibc

/// A small blocking Engine API client for `berth`: one connection per call, unix socket or TCP.
/// Blocking and thread-free on purpose: the CLI starts fast and does one thing at a time.
public struct APIClient: Sendable {
    public let host: String
    public static let defaultHost = "unix:///run/berth/berth.sock"
    /// Seconds a send or a read may block before the call fails with `.timeout` (0: no limit).
    public var timeoutSeconds = 0
    /// What `call` puts before each path: the API version (`""` for plugins, whose paths are not versioned).
    public var pathPrefix = "/v\(APIVersion.maximum)"

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        public var json: JSONValue? { try? JSONValue.parse(bytes: body) }
    }

    public init(host: String) { self.host = host }

    /// Connects a new socket to the daemon.
    public func connect() throws(BerthError) -> Int32 {
        if host.hasPrefix("tcp://") {
            let rest = host.dropFirst(6)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else {
                throw .invalidArgument("invalid host \(host)")
            }
            return try Self.connectTCP(host: String(rest[..<colon]), port: port)
        }
        let path = host.hasPrefix("unix://") ? String(host.dropFirst(7)) : host
        do {
            let fd = try UnixSocket.connect(path)
            if timeoutSeconds > 0 {
                var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                let size = socklen_t(MemoryLayout<timeval>.size)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, size)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, size)
            }
            return fd
        } catch {
            throw BerthError(
                .unavailable, "Cannot connect to the Berth daemon at \(host). Is berthd running? (\(error.message))")
        }
    }

    static func connectTCP(host: String, port: UInt16) throws(BerthError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let info = res else {
            throw BerthError(.unavailable, "cannot resolve \(host)")
        }
        defer { freeaddrinfo(res) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            if fd >= 0 { close(fd) }
            throw BerthError(
                .unavailable, "Cannot connect to the Berth daemon at tcp://\(host):\(port). Is berthd running?")
        }
        return fd
    }

    /// Builds the request text for `method path?query`.
    public static func requestBytes(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], body: [UInt8]?,
        chunked: Bool = false, prefix: String = "/v\(APIVersion.maximum)"
    ) -> [UInt8] {
        var target = prefix + path
        if !query.isEmpty {
            target += "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        }
        var text = "\(method) \(target) HTTP/1.1\r\nHost: api.berth.localhost\r\nUser-Agent: berth-cli\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if let body, !chunked { text += "Content-Length: \(body.count)\r\n" }
        if chunked { text += "Transfer-Encoding: chunked\r\n" }
        text += "\r\n"
        return Array(text.utf8) + (chunked ? [] : (body ?? []))
    }

    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// One request and its whole response. Non-2xx statuses are returned, not thrown (see `check`).
    public func call(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(BerthError) -> Response {
        try exchange(method, path, query: query, headers: headers, body: body, chunkedFrom: nil)
    }

    /// Like `call`, with the body read from `input` and sent chunked (a plugin's `ApplyDiff` tar).
    public func call(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        bodyFrom input: Int32
    ) throws(BerthError) -> Response {
        try exchange(method, path, query: query, headers: headers, body: nil, chunkedFrom: input)
    }

    private func exchange(
        _ method: String, _ path: String, query: [(String, String)], headers: [(String, String)], body: [UInt8]?,
        chunkedFrom input: Int32?
    ) throws(BerthError) -> Response {
        let fd = try connect()
        defer { close(fd) }
        let conn = Connection(fd: fd)
        try conn.send(
            Self.requestBytes(
                method: method, path: path, query: query, headers: headers + [("Connection", "close")], body: body,
                chunked: input != nil, prefix: pathPrefix))
        if let input { try Self.sendChunks(conn, from: input) }
        return try Self.readResponse(conn, method: method)
    }

    /// The whole response on `conn` (no body for HEAD, 204 and 304).
    static func readResponse(_ conn: Connection, method: String) throws(BerthError) -> Response {
        let (status, hdrs) = try conn.readHead()
        var out: [UInt8] = []
        if method != "HEAD", status != 204, status != 304 {
            try conn.readBody(headers: hdrs) {
                out.append(contentsOf: $0)
                return true
            }
        }
        return Response(status: status, headers: hdrs, body: out)
    }

    /// Like `call`, but throws the daemon's `{"message"}` for any status >= 400.
    @discardableResult
    public func checked(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(BerthError) -> Response {
        let r = try call(method, path, query: query, headers: headers, body: body)
        try Self.check(r.status, r.body)
        return r
    }

    /// Reads a response whose body is streamed to `onChunk`; an error status throws the daemon's message.
    static func readStreamed(_ conn: Connection, _ onChunk: ([UInt8]) -> Bool) throws(BerthError) {
        let (status, headers) = try conn.readHead()
        if status >= 400 {
            var out: [UInt8] = []
            try conn.readBody(headers: headers) {
                out.append(contentsOf: $0)
                return true
            }
            try check(status, out)
        }
        try conn.readBody(headers: headers, onChunk)
    }

    public static func check(_ status: Int, _ body: [UInt8]) throws(BerthError) {
        guard status >= 400 else { return }
        let message =
            (try? JSONValue.parse(bytes: body))?["message"]?.stringValue ?? String(decoding: body, as: UTF8.self)
        let code: BerthError.Code
        switch status {
        case 400: code = .invalidArgument
        case 404: code = .notFound
        case 409: code = .conflict
        case 403: code = .forbidden
        default: code = .internalError
        }
        throw BerthError(code, "Error response from daemon: \(message)")
    }

    /// A streamed response: `onChunk` gets body bytes as they arrive; return false to stop.
    public func stream(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil, onChunk: ([UInt8]) -> Bool
    ) throws(BerthError) {
        let fd = try connect()
        defer { close(fd) }
        let conn = Connection(fd: fd)
        try conn.send(Self.requestBytes(method: method, path: path, query: query, headers: headers, body: body))
        try Self.readStreamed(conn, onChunk)
    }

    /// Sends a request with a streamed body read from `fd` (chunked), e.g. `import -`.
    public func upload(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        from input: Int32, onChunk: ([UInt8]) -> Bool
    ) throws(BerthError) {
        let fd = try connect()
        defer { close(fd) }
        let conn = Connection(fd: fd)
        try conn.send(
            Self.requestBytes(method: method, path: path, query: query, headers: headers, body: nil, chunked: true))
        try Self.sendChunks(conn, from: input)
        try Self.readStreamed(conn, onChunk)
    }

    /// `input` to its end as HTTP chunks, then the last chunk.
    static func sendChunks(_ conn: Connection, from input: Int32) throws(BerthError) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw .internalError("read input: errno \(errno)") }
            if n == 0 { break }
            try conn.send(Array(String(n, radix: 16).utf8) + [13, 10] + Array(buf[0..<n]) + [13, 10])
        }
        try conn.send(Array("0\r\n\r\n".utf8))
    }

    /// Sends an upgrade request; on 101 returns the connection for raw use (with bytes already read).
    public func hijack(_ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil)
        throws(BerthError) -> Connection
    {
        let fd = try connect()
        let conn = Connection(fd: fd)
        do throws(BerthError) {
            try conn.send(
                Self.requestBytes(
                    method: method, path: path, query: query,
                    headers: [("Connection", "Upgrade"), ("Upgrade", "tcp"), ("Content-Type", "application/json")],
                    body: body ?? []))
            let (status, hdrs) = try conn.readHead()
            if status != 101, status != 200 {
                var out: [UInt8] = []
                try conn.readBody(headers: hdrs) {
                    out.append(contentsOf: $0); return true
                }
                try Self.check(status, out)
                throw BerthError(.internalError, "unable to upgrade to tcp, received \(status)")
            }
        } catch {
            close(fd)
            throw error
        }
        return conn
    }
}
