import BerthCore
import BerthOS
import Glibc

/// Writes the container's output to its json-file log, one JSON object per line, as Docker's json-file driver:
/// `{"log":"text\n","stream":"stdout","time":"2026-11-29T14:03:07.123456789Z"}`.
///
/// With `maxSize` (`--log-opt max-size`) the file is rotated before it would grow past it: `PATH` becomes
/// `PATH.1`, `PATH.1` becomes `PATH.2`, … and only `maxFiles` files are kept (`max-file`, at least 1: then the
/// file starts over).
final class LogWriter {
    private var fd: Int32
    private let path: String
    private let maxSize: Int64
    private let maxFiles: Int
    private var size: Int64 = 0
    /// Partial lines per stream, flushed at a newline, at 16 KiB, or at the end.
    private var partial: [String: [UInt8]] = [:]
    private static let maxLine = 16 * 1024

    init(path: String, maxSize: Int64 = 0, maxFiles: Int = 1) throws(BerthError) {
        self.path = path
        self.maxSize = maxSize
        self.maxFiles = max(1, maxFiles)
        fd = try Self.open(path)
        var st = stat()
        if fstat(fd, &st) == 0 { size = Int64(st.st_size) }
    }

    private static func open(_ path: String) throws(BerthError) -> Int32 {
        try Syscall.call("open \(path)") { Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }
    }

    private func rotate() {
        close(fd)
        if maxFiles > 1 {
            unlink("\(path).\(maxFiles - 1)")
            for n in stride(from: maxFiles - 2, through: 1, by: -1) { rename("\(path).\(n)", "\(path).\(n + 1)") }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        size = 0
        if let reopened = try? Self.open(path) {
            fd = reopened
        } else {
            fd = Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC)
        }
    }

    /// Logs what the container wrote: one entry per line, all stamped with the time they were read, written
    /// with one write.
    func append(_ bytes: [UInt8], stream: String) {
        let time = Array(Clock.rfc3339Nano(Clock.nowNanos()).utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8 + 128)
        var pending = partial[stream, default: []]
        var start = 0
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            if pending.isEmpty {
                JSONLogLine.encode(bytes[start...nl], stream: stream, time: time, into: &out)
            } else {
                pending.append(contentsOf: bytes[start...nl])
                JSONLogLine.encode(pending[...], stream: stream, time: time, into: &out)
                pending.removeAll(keepingCapacity: true)
            }
            start = nl + 1
        }
        pending.append(contentsOf: bytes[start...])
        if pending.count >= LogWriter.maxLine {
            JSONLogLine.encode(pending[...], stream: stream, time: time, into: &out)
            pending.removeAll()
        }
        partial[stream] = pending
        write(out)
    }

    func flush() {
        let time = Array(Clock.rfc3339Nano(Clock.nowNanos()).utf8)
        var out: [UInt8] = []
        for (stream, pending) in partial where !pending.isEmpty {
            JSONLogLine.encode(pending[...], stream: stream, time: time, into: &out)
        }
        partial.removeAll()
        write(out)
    }

    /// Writes whole lines, rotating before the file would pass `maxSize`.
    private func write(_ out: [UInt8]) {
        guard !out.isEmpty else { return }
        if maxSize <= 0 || size + Int64(out.count) <= maxSize {
            if (try? FileSystem.writeAll(fd: fd, out, what: "log")) != nil { size += Int64(out.count) }
            return
        }
        var start = 0
        while start < out.count {
            let end = (out[start...].firstIndex(of: 0x0A) ?? out.count - 1) + 1
            let line = out[start..<end]
            if size > 0, size + Int64(line.count) > maxSize { rotate() }
            if (try? FileSystem.writeAll(fd: fd, Array(line), what: "log")) != nil { size += Int64(line.count) }
            start = end
        }
    }
}
