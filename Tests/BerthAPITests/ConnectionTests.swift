import BerthAPIClient
import BerthCore
import Glibc
import Testing

@testable import BerthAPI

struct ConnectionTests {
    static let chunked =
        "HTTP/1.1 200 OK\r\nContent-Type:  application/json \r\nTransfer-Encoding: chunked\r\nApi-Version: 1.44\r\n\r\n"
        + "5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n0\r\n\r\n"

    /// Reads one response from `fd` (closing it): status, headers and the body chunks as `onChunk` saw them.
    private func readResponse(_ fd: Int32, stopAfter limit: Int = .max) throws(BerthError) -> (
        Int, [(String, String)], [String]
    ) {
        let conn = Connection(fd: fd)
        defer { conn.close() }
        let (status, headers) = try conn.readHead()
        var chunks: [String] = []
        try conn.readBody(headers: headers) {
            chunks.append(String(decoding: $0, as: UTF8.self))
            return chunks.count < limit
        }
        return (status, headers, chunks)
    }

    @Test func decodesChunkedBody() throws {
        let (server, client) = try #require(makeSocketPair())
        writeAll(server, Array(Self.chunked.utf8))
        close(server)
        let (status, headers, chunks) = try readResponse(client)
        #expect(status == 200)
        #expect(headers.map(\.0) == ["Content-Type", "Transfer-Encoding", "Api-Version"])
        #expect(headers.first?.1 == "application/json")
        #expect(chunks == ["hello", " world", "0123456789"])
    }

    @Test func decodesChunkedBodyArrivingByteByByte() throws {
        let (server, client) = try #require(makeSocketPair())
        writeSlowly(server, Array(Self.chunked.utf8), pieces: 1)
        let (status, _, chunks) = try readResponse(client)
        #expect(status == 200)
        #expect(chunks.joined() == "hello world0123456789")
    }

    @Test func stopsWhenTheCallbackSaysSo() throws {
        let (server, client) = try #require(makeSocketPair())
        defer { close(server) }
        writeAll(server, Array(Self.chunked.utf8))
        let (_, _, chunks) = try readResponse(client, stopAfter: 2)
        #expect(chunks == ["hello", " world"])
    }

    @Test func contentLengthBodyLeavesPipelinedBytesPending() throws {
        let (server, client) = try #require(makeSocketPair())
        defer { close(server) }
        writeAll(server, Array("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhelloEXTRA".utf8))
        let conn = Connection(fd: client)
        defer { conn.close() }
        let (status, headers) = try conn.readHead()
        #expect(status == 404)
        var body: [UInt8] = []
        try conn.readBody(headers: headers) {
            body += $0
            return true
        }
        #expect(String(decoding: body, as: UTF8.self) == "hello")
        #expect(String(decoding: conn.pending, as: UTF8.self) == "EXTRA")
    }

    @Test func bodyWithoutLengthRunsToEOF() throws {
        let (server, client) = try #require(makeSocketPair())
        writeSlowly(server, Array("HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\nraw stream bytes".utf8), pieces: 7)
        let (status, _, chunks) = try readResponse(client)
        #expect(status == 101)
        #expect(chunks.joined() == "raw stream bytes")
    }

    @Test func malformedResponsesAreErrors() throws {
        let (s1, c1) = try #require(makeSocketPair())
        writeAll(s1, Array("garbage\r\n\r\n".utf8))
        close(s1)
        do {
            _ = try readResponse(c1)
            Issue.record("garbage status line accepted")
        } catch {
            #expect(error.code == .internalError)
        }

        let (s2, c2) = try #require(makeSocketPair())
        writeAll(s2, Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n".utf8))
        close(s2)
        do {
            _ = try readResponse(c2)
            Issue.record("bad chunk size accepted")
        } catch {
            #expect(error.message == "malformed chunked response")
        }

        let (s3, c3) = try #require(makeSocketPair())
        writeAll(s3, Array("HTTP/1.1 200 OK\r\nContent-".utf8))
        close(s3)
        do {
            _ = try readResponse(c3)
            Issue.record("truncated head accepted")
        } catch {
            #expect(error.code == .unavailable)
        }
    }

    @Test func sendWritesEverythingEvenWhenTheSocketIsFull() throws {
        let (a, b) = try #require(makeSocketPair())
        let conn = Connection(fd: a)
        defer { conn.close() }
        // More than the socket buffer holds, so send blocks until the reader drains it.
        let payload = (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let reader = readOnThread(fd: b, count: payload.count)
        try conn.send(payload)
        reader.done.wait()
        #expect(reader.bytes.withLock { $0 } == payload)
    }
}
