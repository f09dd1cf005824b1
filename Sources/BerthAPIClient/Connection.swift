import BerthCore
import Glibc

/// A blocking HTTP/1.1 connection: send bytes, read a response head, read a body (length, chunked or to EOF).
public final class Connection {
    public let fd: Int32
    /// Bytes read past what has been consumed.
    public var pending: [UInt8] = []

    public init(fd: Int32) { self.fd = fd }

    public func close() { Glibc.close(fd) }

    public func send(_ bytes: [UInt8]) throws(BerthError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.send(fd, base + off, buffer.count - off, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw BerthError(.timeout, "timed out sending the request") }
                throw BerthError(.unavailable, "connection to the daemon lost")
            }
            off += n
        }
    }

    /// Where `fill` reads: one buffer for the connection's life (a streamed log runs to hundreds of MB).
    private var readBuffer: [UInt8] = []

    /// Reads more bytes into `pending`. Returns false at EOF.
    func fill() throws(BerthError) -> Bool {
        if readBuffer.isEmpty { readBuffer = [UInt8](repeating: 0, count: 1 << 18) }
        while true {
            let n = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw BerthError(.timeout, "timed out waiting for the answer") }
                throw BerthError(.unavailable, "connection to the daemon lost")
            }
            if n == 0 { return false }
            readBuffer.withUnsafeBufferPointer { pending.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<n])) }
            return true
        }
    }

    /// Reads the status line and headers.
    public func readHead() throws(BerthError) -> (Int, [(String, String)]) {
        while true {
            if let end = Connection.find([13, 10, 13, 10], in: pending) {
                let text = String(decoding: pending[0..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                    throw BerthError(.internalError, "malformed response from the daemon")
                }
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let c = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<c]), String(line[line.index(after: c)...]).trimmingSpaces)
                }
                return (status, headers)
            }
            guard try fill() else { throw BerthError(.unavailable, "the daemon closed the connection") }
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<i + needle.count]) == needle { return i }
        }
        return nil
    }

    /// Reads the body, calling `onChunk` as data arrives; stops early when it returns false.
    public func readBody(headers: [(String, String)], _ onChunk: ([UInt8]) -> Bool) throws(BerthError) {
        func header(_ n: String) -> String? { headers.first { $0.0.lowercased() == n }?.1 }
        if header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                var found = Connection.find([13, 10], in: pending)
                while found == nil {
                    guard try fill() else { return }
                    found = Connection.find([13, 10], in: pending)
                }
                guard let lineEnd = found else { return }
                let sizeText = String(decoding: pending[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(String(sizeText).trimmingSpaces, radix: 16) else {
                    throw BerthError(.internalError, "malformed chunked response")
                }
                pending.removeFirst(lineEnd + 2)
                if size == 0 { return }
                while pending.count < size + 2 { guard try fill() else { return } }
                let chunk = Array(pending[0..<size])
                pending.removeFirst(size + 2)
                if !onChunk(chunk) { return }
            }
        } else if let lengthText = header("content-length"), let length = Int(lengthText) {
            var remaining = length
            while remaining > 0 {
                if pending.isEmpty { guard try fill() else { return } }
                let n = min(remaining, pending.count)
                let chunk = Array(pending[0..<n])
                pending.removeFirst(n)
                remaining -= n
                if !onChunk(chunk) { return }
            }
        } else {
            while true {
                if !pending.isEmpty {
                    let chunk = pending
                    pending.removeAll()
                    if !onChunk(chunk) { return }
                }
                guard try fill() else { return }
            }
        }
    }
}
