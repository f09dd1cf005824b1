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
    /// Where lines are encoded before they are written; grown for a line that needs more.
    private var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 << 20)
    private var scratchCapacity = 2 << 20

    init(path: String, maxSize: Int64 = 0, maxFiles: Int = 1) throws(BerthError) {
        self.path = path
        self.maxSize = maxSize
        self.maxFiles = max(1, maxFiles)
        fd = try Self.open(path)
        var st = stat()
        if fstat(fd, &st) == 0 { size = Int64(st.st_size) }
    }

    deinit { scratch.deallocate() }

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

    /// Logs what the container wrote: one entry per line, all stamped with the time they were read, encoded into
    /// a scratch buffer on raw bytes and written with as few writes as it takes (one, unless the buffer fills).
    /// The scratch buffer (2 MiB) takes a whole 1 MiB read of plain text.
    func append(_ buf: UnsafeBufferPointer<UInt8>, stream: String) {
        let suffix = JSONLogLine.suffix(stream: stream, time: Array(Clock.rfc3339Nano(Clock.nowNanos()).utf8))
        var pending = partial[stream, default: []]
        var used = 0
        suffix.withUnsafeBufferPointer { sfx in
            guard let base = buf.baseAddress else { return }
            let n = buf.count
            var start = 0
            while start < n, let hit = memchr(base + start, 0x0A, n - start) {
                let end = UnsafeRawPointer(hit) - UnsafeRawPointer(base) + 1
                let line = UnsafeBufferPointer(start: base + start, count: end - start)
                if pending.isEmpty {
                    used = emit(line, sfx, used)
                } else {
                    pending.append(contentsOf: line)
                    used = pending.withUnsafeBufferPointer { emit($0, sfx, used) }
                    pending.removeAll(keepingCapacity: true)
                }
                start = end
            }
            if start < n { pending.append(contentsOf: UnsafeBufferPointer(start: base + start, count: n - start)) }
            if pending.count >= LogWriter.maxLine {
                used = pending.withUnsafeBufferPointer { emit($0, sfx, used) }
                pending.removeAll()
            }
        }
        partial[stream] = pending
        writeScratch(used)
    }

    func flush() {
        let time = Array(Clock.rfc3339Nano(Clock.nowNanos()).utf8)
        var used = 0
        for (stream, pending) in partial where !pending.isEmpty {
            let suffix = JSONLogLine.suffix(stream: stream, time: time)
            used = pending.withUnsafeBufferPointer { text in suffix.withUnsafeBufferPointer { emit(text, $0, used) } }
        }
        partial.removeAll()
        writeScratch(used)
    }

    /// Encodes one line after the `used` bytes of the scratch buffer (written out first when the line might not
    /// fit). Returns the bytes now used.
    private func emit(_ text: UnsafeBufferPointer<UInt8>, _ suffix: UnsafeBufferPointer<UInt8>, _ used: Int) -> Int {
        let need = JSONLogLine.maxEncodedCount(text.count, suffixCount: suffix.count)
        var used = used
        if used + need > scratchCapacity {
            writeScratch(used)
            used = 0
            if need > scratchCapacity {
                scratch.deallocate()
                scratch = .allocate(capacity: need)
                scratchCapacity = need
            }
        }
        return used + JSONLogLine.encode(text, suffix: suffix, to: scratch + used)
    }

    /// Writes the first `count` bytes of the scratch buffer (whole lines), rotating before the file would pass
    /// `maxSize`.
    private func writeScratch(_ count: Int) {
        guard count > 0 else { return }
        if maxSize <= 0 || size + Int64(count) <= maxSize {
            if writeAll(scratch, count) { size += Int64(count) }
            return
        }
        var start = 0
        while start < count {
            let hit = memchr(scratch + start, 0x0A, count - start)
            let end = hit.map { UnsafeRawPointer($0) - UnsafeRawPointer(scratch) + 1 } ?? count
            if size > 0, size + Int64(end - start) > maxSize { rotate() }
            if writeAll(scratch + start, end - start) { size += Int64(end - start) }
            start = end
        }
    }

    private func writeAll(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, bytes + done, count - done)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}
