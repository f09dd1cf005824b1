import BerthCore
import Glibc

/// Unix stream sockets by path: the one place that fills a `sockaddr_un`.
public enum UnixSocket {
    /// Calls `body` with the address of `path`.
    /// - Throws: `.invalidArgument` when the path does not fit `sun_path` (108 bytes).
    public static func withAddress<T>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T
    ) throws(BerthError) -> T {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw .invalidArgument("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A new CLOEXEC stream socket connected to `path`.
    /// - Throws: `BerthError` with the errno of a failed `connect` (`.notFound` for a missing socket file).
    public static func connect(_ path: String) throws(BerthError) -> Int32 {
        let fd = try Syscall.call("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let rc = try withAddress(path) { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw Syscall.error("connect \(path)", errno: e)
        }
        return fd
    }
}
