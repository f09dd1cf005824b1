import BerthOS
import Glibc

/// Unbuffered writes to stdout and stderr.
///
/// Streaming commands (`logs`, `attach`, `export`) write raw bytes, and mixing them with `print`'s buffered
/// stdout would reorder output, so every command writes through here.
enum Output {
    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns false when the reader has gone.
    @discardableResult
    static func write(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        Array(bytes).withUnsafeBufferPointer { write(fd, $0) }
    }

    /// `write` straight from memory (no copy).
    @discardableResult
    static func write(_ fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, base + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    /// Writes `text` to stdout as it is.
    static func out(_ text: String) { write(1, Array(text.utf8)) }

    /// Writes `text` and a newline to stdout.
    static func line(_ text: String) { write(1, Array((text + "\n").utf8)) }

    /// Writes `text` and a newline to stderr.
    static func error(_ text: String) { write(2, Array((text + "\n").utf8)) }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}

/// Whole-file reads for `--env-file` and `--security-opt seccomp=PATH`.
enum FileInput {
    /// Everything readable from `fd` (standard input for `build -`).
    static func readAll(fd: Int32) throws(CLIError) -> [UInt8] {
        do { return try FileSystem.readAll(fd: fd, what: "standard input") } catch { throw CLIError(error.message) }
    }

    /// The bytes of `path`, or a message like Go's `open PATH: no such file or directory`.
    static func read(_ path: String) throws(CLIError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError("open \(path): \(String(cString: strerror(errno)).lowercased())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError("read \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    static func environment(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
