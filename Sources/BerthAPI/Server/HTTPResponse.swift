import BerthCore

/// What a route answers: a status with a body, a stream written over time, or a hijacked connection.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Chunked; the headers go out at once, then whatever the closure writes, until it returns.
        case stream(@Sendable (StreamWriter) async -> Void)
        /// `101 UPGRADED` (or 200 without an Upgrade request header), then raw bytes both ways.
        case hijack(@Sendable (HijackedConnection) async -> Void)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "application/json")],
            body: .bytes(Array((value.serialized + "\n").utf8)))
    }

    public static func json(bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: .bytes(bytes))
    }

    public static func noContent() -> HTTPResponse { HTTPResponse(status: 204) }

    public static func text(_ s: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(Array(s.utf8)))
    }

    /// `{"message": …}` with the status for `error`'s code (see `ErrorStatus`).
    public static func error(_ error: BerthError) -> HTTPResponse {
        let status = ErrorStatus.status(for: error.code)
        if status == 304 { return HTTPResponse(status: 304) }
        return .json(.object([("message", .string(error.message))]), status: status)
    }
}

/// Writes a streaming response body.
public protocol StreamWriter: Sendable {
    /// Writes and flushes `bytes`. Throws `.cancelled` once the client has gone.
    func write(_ bytes: [UInt8]) async throws(BerthError)
    /// Whether the client has disconnected.
    var isClosed: Bool { get }
    /// Completes when the client disconnects.
    func waitClosed() async
}

/// A connection taken over from HTTP for attach and exec: raw bytes both ways.
public protocol HijackedConnection: Sendable {
    func write(_ bytes: [UInt8]) async throws(BerthError)
    /// What the client sends; finishes when it half-closes or disconnects.
    var inbound: AsyncStream<[UInt8]> { get }
    /// Closes the connection (after everything written so far is flushed).
    func close() async
}

/// The one table from error codes to HTTP statuses (after moby's httpstatus).
public enum ErrorStatus {
    public static func status(for code: BerthError.Code) -> Int {
        switch code {
        case .invalidArgument: return 400
        case .notFound: return 404
        case .conflict, .invalidState: return 409
        case .forbidden: return 403
        case .unauthorized: return 401
        case .unsupported: return 501
        case .unavailable: return 503
        case .timeout: return 504
        case .notModified: return 304
        default: return 500
        }
    }
}
