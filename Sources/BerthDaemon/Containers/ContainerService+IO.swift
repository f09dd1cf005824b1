import BerthAPI
import BerthArchive
import BerthCore
import BerthOS
import BerthRuntime
import Glibc

extension ContainerService {
    /// One frame of Docker's multiplexed stream: `[stream, 0, 0, 0, size (BE u32)] + payload`.
    nonisolated static func frame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [
            stream, 0, 0, 0, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ] + payload
    }

    struct LogOptions: Sendable {
        var stdout = true
        var stderr = true
        var follow = false
        var timestamps = false
        var since: Int64 = 0
        var until: Int64 = 0
        /// nil: all lines.
        var tail: Int?
    }

    /// `GET /containers/{id}/logs`: the json-file log, then (with follow) new lines until the container stops.
    nonisolated func streamLogs(id: String, tty: Bool, options: LogOptions, to writer: any StreamWriter) async {
        let path = await logPath(id)
        var offset = 0
        var inode = Self.inode(path)
        var first = true
        // The partial last line of the previous round, then what this round read: one buffer, reused.
        var chunk: [UInt8] = []
        var out: [UInt8] = []
        // Rotated files (`--log-opt max-size`), oldest first, come before the current one.
        for n in stride(from: 32, through: 1, by: -1) { _ = Self.appendFile("\(path).\(n)", offset: 0, to: &chunk) }
        while true {
            let running = await records[id]?.isRunning ?? false
            // Only what was appended since the last round is read; a rotation meanwhile leaves the rest of the
            // previous file in PATH.1.
            let now = Self.inode(path)
            if now != inode {
                _ = Self.appendFile(path + ".1", offset: offset, to: &chunk)
                offset = 0
                inode = now
            }
            // At most 8 MiB per round, so a large log is streamed rather than held in memory at once (all of it
            // for `--tail`, which counts from the end).
            let limit = first && options.tail != nil ? Int.max : 8 << 20
            let got = Self.appendFile(path, offset: offset, limit: limit, to: &chunk)
            offset += got
            let more = limit != Int.max && got == limit
            out.removeAll(keepingCapacity: true)
            if let lastNewline = chunk.lastIndex(of: 0x0A) {
                let end = lastNewline + 1
                var from = 0
                if first, let tail = options.tail { from = Self.startOfLast(tail, linesIn: chunk, end: end) }
                // Lines are decoded without a general JSON parser and sent in batches of 256 KiB: logs of a
                // chatty container run to hundreds of MB.
                while from < end {
                    from = Self.renderLogLines(
                        chunk, from: from, end: end, tty: tty, options: options, into: &out, limit: 1 << 18)
                    if out.count >= 1 << 18 {
                        do { try await writer.write(out) } catch { return }
                        out.removeAll(keepingCapacity: true)
                    }
                }
                chunk.removeSubrange(..<end)
            }
            first = false
            if !out.isEmpty {
                do { try await writer.write(out) } catch { return }
            }
            if more, !writer.isClosed { continue }
            // `running` was read before the file: once it is false, everything the container wrote is read.
            if !options.follow || !running || writer.isClosed { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Appends the log lines of `chunk[from..<end]` (whole lines) to `out` as the client gets them (framed unless
    /// `tty`, filtered by stream and time, with timestamps if asked), until `out` holds `limit` bytes.
    /// - Returns: where the next line starts (`end` when all are done).
    nonisolated static func renderLogLines(
        _ chunk: [UInt8], from: Int, end: Int, tty: Bool, options: LogOptions, into out: inout [UInt8], limit: Int
    ) -> Int {
        let stderrName = Array("stderr".utf8)
        let noHeader = [UInt8](repeating: 0, count: 8)
        return chunk.withUnsafeBufferPointer { buf -> Int in
            guard let base = buf.baseAddress else { return end }
            var from = from
            while from < end, out.count < limit {
                let nl =
                    memchr(base + from, 0x0A, end - from).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) }
                    ?? end
                defer { from = nl + 1 }
                let line = UnsafeBufferPointer(rebasing: buf[from..<nl])
                // The frame header is reserved first and filled once the text is in: no copy per line.
                let header = out.count
                if !tty { out.append(contentsOf: noHeader) }
                let textStart = out.count
                // The stream and time stay in the chunk (no allocation per line) unless the general parser ran.
                var isStderr = false
                var timeRange = 0..<0
                var parsedTime: [UInt8]? = nil
                if let (s, t) = JSONLogLine.decode(line, appendingLogTo: &out) {
                    isStderr = UnsafeBufferPointer(rebasing: line[s]).elementsEqual(stderrName)
                    timeRange = t
                } else {
                    out.removeSubrange(textStart...)
                    guard let (s, t) = JSONLogLine.decode(chunk[from..<nl], appendingLogTo: &out) else {
                        out.removeSubrange(header...)
                        continue
                    }
                    isStderr = s.elementsEqual(stderrName)
                    parsedTime = Array(t)
                }
                let time = { parsedTime ?? Array(UnsafeBufferPointer(rebasing: line[timeRange])) }
                var keep = isStderr ? options.stderr : options.stdout
                if keep, options.since > 0 || options.until > 0 {
                    let nanos = Clock.parseRFC3339(String(decoding: time(), as: UTF8.self)) ?? 0
                    if options.since > 0, nanos < options.since { keep = false }
                    if options.until > 0, nanos > options.until { keep = false }
                }
                guard keep else {
                    out.removeSubrange(header...)
                    continue
                }
                if options.timestamps { out.insert(contentsOf: time() + [0x20], at: textStart) }
                if !tty {
                    let n = UInt32(out.count - textStart)
                    out[header] = isStderr ? 2 : 1
                    out[header + 4] = UInt8(n >> 24)
                    out[header + 5] = UInt8(truncatingIfNeeded: n >> 16)
                    out[header + 6] = UInt8(truncatingIfNeeded: n >> 8)
                    out[header + 7] = UInt8(truncatingIfNeeded: n)
                }
            }
            return from
        }
    }

    /// Where the last `count` lines of `bytes[..<end]` (each ending with a newline) start.
    nonisolated static func startOfLast(_ count: Int, linesIn bytes: [UInt8], end: Int) -> Int {
        guard count > 0 else { return end }
        var seen = 0
        var i = end - 1
        while i > bytes.startIndex {
            if bytes[i - 1] == 0x0A {
                seen += 1
                if seen == count { return i }
            }
            i -= 1
        }
        return bytes.startIndex
    }

    nonisolated static func inode(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
    }

    /// Appends the bytes of `path` from `offset` to its current end, at most `limit` of them, to `buffer`.
    /// - Returns: how many were appended (0 when there are none or the file is gone).
    nonisolated static func appendFile(_ path: String, offset: Int, limit: Int = Int.max, to buffer: inout [UInt8])
        -> Int
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return 0 }
        let want = min(limit, max(0, Int(st.st_size) - offset))
        guard want > 0 else { return 0 }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: want))
        var got = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while got < want {
                let n = pread(fd, base + start + got, want - got, off_t(offset + got))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                got += n
            }
        }
        buffer.removeSubrange((start + got)...)
        return got
    }

    /// `POST /containers/{id}/attach`: live output to the client, the client's input to the container's stdin.
    nonisolated func attach(
        id: String, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool, stdinOnce: Bool, detachKeys: DetachKeys,
        output: OutputHub, connection: any HijackedConnection
    ) async {
        let service = self
        // Input may arrive before `start` has the shim running: it is held until then.
        await Self.pump(
            subscription: output.subscribe(), tty: tty, stdin: stdin, stdout: stdout, stderr: stderr,
            stdinOnce: stdinOnce, detachKeys: detachKeys, connection: connection
        ) { await service.waitForSession(id) }
    }

    /// Copies a process's output (subscribed before it started, so nothing is missed) to a hijacked connection
    /// and the connection's input to the process, for attach and exec.
    nonisolated static func pump(
        subscription: AsyncStream<OutputHub.Chunk>, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool,
        stdinOnce: Bool, detachKeys: DetachKeys, connection: any HijackedConnection,
        session: @escaping @Sendable () async -> ShimSession?, beforeClose: (@Sendable () async -> Void)? = nil
    ) async {
        let forward = Task {
            for await chunk in subscription {
                if chunk.stream == .stdout && !stdout || chunk.stream == .stderr && !stderr { continue }
                let bytes = tty ? chunk.bytes : Self.frame(chunk.stream.rawValue, chunk.bytes)
                do { try await connection.write(bytes) } catch { break }
            }
        }
        let input: Task<Void, Never>? =
            stdin
            ? Task {
                var matcher = detachKeys.matcher()
                for await bytes in connection.inbound {
                    // With a terminal, the detach sequence (ctrl-p ctrl-q) ends the attach, not the container;
                    // bytes held back as a possible start of it are sent once it turns out not to be.
                    let (pass, detached) = tty ? matcher.feed(bytes) : (bytes, false)
                    if !pass.isEmpty { await session()?.send(ShimMessage.stdin, pass) }
                    if detached {
                        forward.cancel()
                        return
                    }
                }
                // The client's input ended. Without a terminal and with StdinOnce the container's stdin ends too;
                // a terminal stays open for the next attach (the client detached), and this attach ends, as
                // Docker does.
                if tty {
                    forward.cancel()
                } else if stdinOnce {
                    await session()?.send(ShimMessage.closeStdin)
                }
            } : nil
        await forward.value
        input?.cancel()
        await beforeClose?()
        await connection.close()
    }

    func session(_ id: String) -> ShimSession? { runtimes[id]?.session }

    /// `POST /containers/{id}/resize`: the terminal's window size (a container without one ignores it).
    func resize(_ ref: String, height: String?, width: String?) throws(BerthError) {
        let record = try lookup(ref)
        guard let h = UInt16(height ?? ""), let w = UInt16(width ?? "") else {
            throw .invalidArgument("invalid resize: height and width must be numbers from 0 to 65535")
        }
        guard record.isRunning, let session = runtimes[record.id]?.session else {
            throw .conflict("Container \(record.id) is not running")
        }
        session.send(ShimMessage.resize, Array("\(h) \(w)".utf8))
    }

    /// The container's shim session, waiting while the container is created or starting; nil once it is gone
    /// or has exited.
    func waitForSession(_ id: String) async -> ShimSession? {
        while true {
            if let s = runtimes[id]?.session { return s }
            guard let r = records[id], r.status == .created || runtimes[id]?.starting == true else { return nil }
            if Task.isCancelled { return nil }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// `GET /containers/{id}/export`: the container's filesystem as a tar, built from the storage driver's merged
    /// view (nothing is mounted on the host).
    func exportTar(_ ref: String, tmpDir: String) async throws(BerthError) -> String {
        let record = try lookup(ref)
        let entries = try await storage.mergedTree(id: record.id)
        try FileSystem.createDirectory(tmpDir)
        let path = "\(tmpDir)/export-\(record.id)-\(UInt32.random(in: 0...UInt32.max)).tar"
        let fd = try Syscall.call("open \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        do { try TarWriter.write(entries: entries, to: fd) } catch {
            unlink(path)
            throw error
        }
        return path
    }
}
