/// The one error type every public Berth API throws.
///
/// `code` is the class of failure, which `BerthAPI` maps to an HTTP status in one table; `message` is the
/// text a user sees; `cause` keeps the module-local error it was converted from.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    /// The class of an error. Extensible: new codes may be added as static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        /// For `system`, the errno value; otherwise 0.
        public let errno: Int32

        public init(_ name: String, errno: Int32 = 0) {
            self.name = name
            self.errno = errno
        }

        public static let invalidArgument = Code("invalidArgument")
        public static let notFound = Code("notFound")
        public static let conflict = Code("conflict")
        public static let invalidState = Code("invalidState")
        public static let unsupported = Code("unsupported")
        public static let forbidden = Code("forbidden")
        /// Credentials are missing or wrong (a registry's 401).
        public static let unauthorized = Code("unauthorized")
        public static let unavailable = Code("unavailable")
        public static let timeout = Code("timeout")
        public static let cancelled = Code("cancelled")
        public static let internalError = Code("internal")
        /// An operation is already in the requested state (HTTP 304 for start/stop).
        public static let notModified = Code("notModified")
        public static func system(_ errno: Int32) -> Code { Code("system", errno: errno) }

        public var description: String { errno == 0 ? name : "\(name)(\(errno))" }

        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.name == rhs.name }
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    public static func notFound(_ message: String) -> BerthError { BerthError(.notFound, message) }
    public static func invalidArgument(_ message: String) -> BerthError { BerthError(.invalidArgument, message) }
    public static func conflict(_ message: String) -> BerthError { BerthError(.conflict, message) }
    public static func forbidden(_ message: String) -> BerthError { BerthError(.forbidden, message) }
    public static func unauthorized(_ message: String) -> BerthError { BerthError(.unauthorized, message) }
    public static func unavailable(_ message: String) -> BerthError { BerthError(.unavailable, message) }
    public static func invalidState(_ message: String) -> BerthError { BerthError(.invalidState, message) }
    public static func internalError(_ message: String) -> BerthError { BerthError(.internalError, message) }
}
