import BerthCore
import BerthOS
import CBerthLinux
import Glibc

/// Runs a host program to its end (posix_spawn, never fork), collecting its output: for the few things
/// Docker itself delegates to host tools, such as `ps` for `top`. Blocks the calling thread.
public enum HostCommand {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    public static func run(_ path: String, _ args: [String]) throws(BerthError) -> Result {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        try Syscall.call("pipe") { berth_pipe_cloexec(&out) }
        do { try Syscall.call("pipe") { berth_pipe_cloexec(&err) } } catch {
            close(out[0])
            close(out[1])
            throw error
        }
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        let pid = ShimLauncher.spawn(path: path, args: [path] + args, env: env, fds: [-1, out[1], err[1]])
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        if pid < 0 { throw Syscall.error("run \(path)", errno: -pid) }
        var result = Result(status: 0, stdout: [], stderr: [])
        var open = [out[0], err[0]]
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for f in fds where f.revents != 0 {
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
