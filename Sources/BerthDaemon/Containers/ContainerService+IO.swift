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
        var pendingLine: [UInt8] = []
        var first = true
        // Rotated files (`--log-opt max-size`), oldest first, come before the current one.
        var rotated: [UInt8] = []
        for n in stride(from: 32, through: 1, by: -1) { rotated += Self.readFrom(path: "\(path).\(n)", offset: 0) }
        while true {
            let running = await records[id]?.isRunning ?? false
            // Only what was appended since the last round is read; a rotation meanwhile leaves the rest of the
            // previous file in PATH.1.
            var appended = rotated
            rotated = []
            let now = Self.inode(path)
            if now != inode {
                appended += Self.readFrom(path: path + ".1", offset: offset)
                offset = 0
                inode = now
            }
            // At most 8 MiB per round, so a large log is streamed rather than held in memory at once (all of it
            // for `--tail`, which counts from the end).
            let limit = first && options.tail != nil ? Int.max : 8 << 20
            let current = Self.readFrom(path: path, offset: offset, limit: limit)
            offset += current.count
            appended += current
            let more = limit != Int.max && current.count == limit
            var out: [UInt8] = []
            if !appended.isEmpty {
                var chunk = pendingLine + appended
                pendingLine = []
                if let lastNewline = chunk.lastIndex(of: 0x0A) {
                    pendingLine = Array(chunk[(lastNewline + 1)...])
                    chunk.removeSubrange((lastNewline + 1)...)
                } else {
                    pendingLine = chunk
                    chunk = []
                }
                var from = chunk.startIndex
                if first, let tail = options.tail { from = Self.startOfLast(tail, linesIn: chunk) }
                // Lines are decoded without a general JSON parser and sent in batches: logs of a chatty container
                // run to hundreds of MB.
                while from < chunk.endIndex {
                    let nl = chunk[from...].firstIndex(of: 0x0A) ?? chunk.endIndex
                    defer { from = nl + 1 }
                    // The frame header is reserved first and filled once the text is in: no copy per line.
                    let header = out.count
                    if !tty { out.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0]) }
                    let textStart = out.count
                    guard let (stream, time) = JSONLogLine.decode(chunk[from..<nl], appendingLogTo: &out) else {
                        out.removeSubrange(header...)
                        continue
                    }
                    let isStderr = stream.elementsEqual("stderr".utf8)
                    var keep = isStderr ? options.stderr : options.stdout
                    if keep, options.since > 0 || options.until > 0 {
                        let nanos = Clock.parseRFC3339(String(decoding: time, as: UTF8.self)) ?? 0
                        if options.since > 0, nanos < options.since { keep = false }
                        if options.until > 0, nanos > options.until { keep = false }
                    }
                    guard keep else {
                        out.removeSubrange(header...)
                        continue
                    }
                    if options.timestamps {
                        out.insert(contentsOf: Array(time) + [0x20], at: textStart)
                    }
                    if !tty {
                        let n = UInt32(out.count - textStart)
                        out[header] = isStderr ? 2 : 1
                        out[header + 4] = UInt8(n >> 24)
                        out[header + 5] = UInt8(truncatingIfNeeded: n >> 16)
                        out[header + 6] = UInt8(truncatingIfNeeded: n >> 8)
                        out[header + 7] = UInt8(truncatingIfNeeded: n)
                    }
                    if out.count >= 1 << 18 {
                        do { try await writer.write(out) } catch { return }
                        out.removeAll(keepingCapacity: true)
                    }
                }
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

    /// Where the last `count` lines of `bytes` (each ending with a newline) start.
    nonisolated static func startOfLast(_ count: Int, linesIn bytes: [UInt8]) -> Int {
        guard count > 0 else { return bytes.endIndex }
        var seen = 0
        var i = bytes.endIndex - 1
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

    /// The bytes of `path` from `offset` to its current end (empty when there are none or it is gone).
    nonisolated static func readFrom(path: String, offset: Int, limit: Int = Int.max) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        guard limit < Int.max else {
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { return [] }
            return (try? FileSystem.readAll(fd: fd, what: path)) ?? []
        }
        var out = [UInt8](repeating: 0, count: limit)
        var got = 0
        while got < limit {
            let n = out.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress?.advanced(by: got), limit - got, off_t(offset + got))
            }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        out.removeSubrange(got...)
        return out
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
