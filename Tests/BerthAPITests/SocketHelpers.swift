import Foundation
import Glibc
import Synchronization

/// A connected AF_UNIX stream pair: one end plays the daemon, the other is read by `Connection`.
func makeSocketPair() -> (Int32, Int32)? {
    var fds: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return nil }
    return (fds[0], fds[1])
}

/// Writes all of `bytes` to the socket `fd`; a peer that has gone is not an error (MSG_NOSIGNAL: no SIGPIPE).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            return send(fd, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
        }
        if n < 0 {
            if errno == EINTR { continue }
            return
        }
        offset += n
    }
}

/// Writes `bytes` from another thread in pieces of `size`, pausing between them, then closes `fd`:
/// the reader sees a response arrive over many reads.
func writeSlowly(_ fd: Int32, _ bytes: [UInt8], pieces size: Int) {
    Thread {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            writeAll(fd, Array(bytes[offset..<end]))
            offset = end
            usleep(200)
        }
        close(fd)
    }.start()
}

/// What a one-shot test server received, shared with the test's thread.
final class Received: Sendable {
    let text = Mutex("")
}

/// A unix socket server under /var/tmp that answers one connection with `response` and records the request.
/// Returns the socket path and the listening fd; the caller closes the fd and unlinks the path.
func serveOnce(response: String, received: Received) -> (String, Int32)? {
    let path = "/var/tmp/berth-api-test-\(UInt32.random(in: 0...UInt32.max)).sock"
    let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { return nil }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { p in
        for (i, b) in path.utf8.enumerated() { p[i] = b }
    }
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0, listen(listener, 1) == 0 else {
        close(listener)
        return nil
    }
    Thread {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // The test requests carry no body: the head is the whole request.
        while !request.containsHeadEnd {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            request += buffer[0..<n]
        }
        received.text.withLock { $0 = String(decoding: request, as: UTF8.self) }
        writeAll(fd, Array(response.utf8))
    }.start()
    return (path, listener)
}

extension [UInt8] {
    var containsHeadEnd: Bool {
        guard count >= 4 else { return false }
        return (0...(count - 4)).contains {
            self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10
        }
    }
}

/// Bytes read on another thread, and a semaphore signalled when the reader has them all (or hit EOF).
final class ThreadReader: Sendable {
    let bytes = Mutex<[UInt8]>([])
    let done = DispatchSemaphore(value: 0)
}

/// Reads `count` bytes from `fd` on a thread of its own, then closes `fd`.
func readOnThread(fd: Int32, count: Int) -> ThreadReader {
    let reader = ThreadReader()
    Thread {
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while got.count < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            got += buffer[0..<n]
        }
        close(fd)
        reader.bytes.withLock { $0 = got }
        reader.done.signal()
    }.start()
    return reader
}
