import BerthCore
import Glibc

/// Calls into the kernel: retries `EINTR` and turns errno into `BerthError`.
public enum Syscall {
    /// Runs `body` until it does not fail with `EINTR`.
    /// - Returns: the non-negative result.
    /// - Throws: `BerthError` with code `.system(errno)` and message `"<what>: <strerror>"`.
    @discardableResult
    public static func call<T: BinaryInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(BerthError)
        -> T
    {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            throw error(what(), errno: e)
        }
    }

    /// The error for a failed call with `errno`: `ENOENT` becomes `.notFound`, `EEXIST` `.conflict`,
    /// `EACCES`/`EPERM` `.forbidden`; all keep `.system(errno)` semantics in the message.
    public static func error(_ what: String, errno e: Int32) -> BerthError {
        let code: BerthError.Code
        switch e {
        case ENOENT: code = .notFound
        case EEXIST: code = .conflict
        default: code = .system(e)
        }
        return BerthError(code, "\(what): \(describe(errno: e))", cause: SystemError(errno: e))
    }

    /// `strerror` in lower case, as Go and Docker print errors ("no such file or directory").
    public static func describe(errno e: Int32) -> String {
        guard let p = strerror(e) else { return "errno \(e)" }
        let s = String(cString: p)
        guard let first = s.first else { return s }
        return first.lowercased() + s.dropFirst()
    }
}

/// The original errno of a failed call, kept as `BerthError.cause`.
public struct SystemError: Error, Sendable, Equatable {
    public let errno: Int32
    public init(errno: Int32) { self.errno = errno }
}

extension BerthError {
    /// The errno behind this error, if it came from a failed system call.
    public var errno: Int32? {
        if code.errno != 0 { return code.errno }
        return (cause as? SystemError)?.errno
    }
}
