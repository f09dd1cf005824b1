import BerthCore
import CBerthLinux
import Glibc

/// Runs a host program to its end (posix_spawn, never fork), collecting its output: for the few things
/// Docker itself delegates to host tools, such as `ps` for `top` (and `tar` for `berth cp`). Blocks the calling
/// thread.
public enum HostCommand {
    /// `berth_spawn`: `path` with `args`, `env` and child fds 0.. mapped from `fds` (-1: /dev/null or closed).
    public static func spawn(path: String, args: [String], env: [String], fds: [Int32]) -> pid_t {
        let cArgs = args.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        return cArgs.withUnsafeBufferPointer { a in
            cEnv.withUnsafeBufferPointer { e in
                guard let argBase = a.baseAddress, let envBase = e.baseAddress else { return -EINVAL }
                return argBase.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: cArgs.count) { ap in
                    envBase.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: cEnv.count) { ep in
                        berth_spawn(path, ap, ep, fds, Int32(fds.count))
                    }
                }
            }
        }
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// - Parameter input: bytes for the program's stdin (none: /dev/null).
    public static func run(_ path: String, _ args: [String], input: [UInt8]? = nil) throws(BerthError) -> Result {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        var inp: [Int32] = [-1, -1]
        try Syscall.call("pipe") { berth_pipe_cloexec(&out) }
        try Syscall.call("pipe") { berth_pipe_cloexec(&err) }
        if input != nil { try Syscall.call("pipe") { berth_pipe_cloexec(&inp) } }
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        let pid = spawn(path: path, args: [path] + args, env: env, fds: [inp[0], out[1], err[1]])
        for fd in [out[1], err[1], inp[0]] where fd >= 0 { close(fd) }
        defer {
            close(out[0])
            close(err[0])
        }
        if pid < 0 {
            if inp[1] >= 0 { close(inp[1]) }
            throw Syscall.error("run \(path)", errno: -pid)
        }
        var result = Result(status: 0, stdout: [], stderr: [])
        var open = [out[0], err[0]]
        var writeFD = inp[1]
        var written = 0
        if writeFD >= 0 { _ = fcntl(writeFD, F_SETFL, O_NONBLOCK) }
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || writeFD >= 0 {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writeFD >= 0 { fds.append(pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if writeFD >= 0, let last = fds.last, last.fd == writeFD, last.revents != 0 {
                let data = input ?? []
                let n = data.withUnsafeBytes {
                    write(writeFD, $0.baseAddress?.advanced(by: written), data.count - written)
                }
                if n > 0 { written += n }
                if n < 0 && errno != EAGAIN && errno != EINTR || written >= data.count {
                    close(writeFD)
                    writeFD = -1
                }
            }
            for f in fds where f.revents != 0 && f.fd != writeFD && open.contains(f.fd) {
                let n = buf.withUnsafeMutableBytes { read(f.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if f.fd == out[0] { result.stdout += buf[0..<n] } else { result.stderr += buf[0..<n] }
                } else if n == 0 || errno != EINTR {
                    open.removeAll { $0 == f.fd }
                }
            }
        }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        result.status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        return result
    }
}
