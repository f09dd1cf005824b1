import BerthCore
import BerthOS
import Glibc

/// Writes the container's output to its json-file log, one JSON object per line, as Docker's json-file driver:
/// `{"log":"text\n","stream":"stdout","time":"2026-11-29T14:03:07.123456789Z"}`.
final class LogWriter {
    private let fd: Int32
    /// Partial lines per stream, flushed at a newline, at 16 KiB, or at the end.
    private var partial: [String: [UInt8]] = [:]
    private static let maxLine = 16 * 1024

    init(path: String) throws(BerthError) {
        fd = try Syscall.call("open \(path)") { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }
    }

    func append(_ bytes: [UInt8], stream: String) {
        var pending = partial[stream, default: []]
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            pending.append(contentsOf: bytes[start...i])
            emit(pending, stream: stream)
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        pending.append(contentsOf: bytes[start...])
        if pending.count >= LogWriter.maxLine {
            emit(pending, stream: stream)
            pending.removeAll()
        }
        partial[stream] = pending
    }

    func flush() {
        for (stream, pending) in partial where !pending.isEmpty { emit(pending, stream: stream) }
        partial.removeAll()
    }

    private func emit(_ line: [UInt8], stream: String) {
        var out = "{\"log\":"
        JSONValue.writeString(String(decoding: line, as: UTF8.self), to: &out)
        out += ",\"stream\":\"\(stream)\",\"time\":\"\(Clock.rfc3339Nano(Clock.nowNanos()))\"}\n"
        try? FileSystem.writeAll(fd: fd, Array(out.utf8), what: "log")
    }
}
