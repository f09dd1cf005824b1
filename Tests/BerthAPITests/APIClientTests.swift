import BerthAPIClient
import BerthCore
import Glibc
import Testing

@testable import BerthAPI

struct APIClientTests {
    @Test func requestBytesWithQueryHeadersAndBody() {
        let bytes = APIClient.requestBytes(
            method: "POST", path: "/containers/create", query: [("name", "my app"), ("platform", "linux/amd64")],
            headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "POST /v1.44/containers/create?name=my%20app&platform=linux%2Famd64 HTTP/1.1\r\n"
                + "Host: api.berth.localhost\r\nUser-Agent: berth-cli\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\n\r\n{}")
    }

    @Test func requestBytesWithoutBodyAndChunked() {
        let get = APIClient.requestBytes(method: "GET", path: "/_ping", query: [], headers: [], body: nil)
        #expect(
            String(decoding: get, as: UTF8.self)
                == "GET /v1.44/_ping HTTP/1.1\r\nHost: api.berth.localhost\r\nUser-Agent: berth-cli\r\n\r\n")

        let upload = APIClient.requestBytes(
            method: "POST", path: "/images/create", query: [("fromSrc", "-")], headers: [], body: Array("ignored".utf8),
            chunked: true)
        let text = String(decoding: upload, as: UTF8.self)
        #expect(text.hasSuffix("Transfer-Encoding: chunked\r\n\r\n"))
        #expect(!text.contains("Content-Length"))
        #expect(text.hasPrefix("POST /v1.44/images/create?fromSrc=- HTTP/1.1\r\n"))
    }

    @Test func percentEncodeKeepsOnlyUnreservedCharacters() {
        #expect(APIClient.percentEncode("AZaz09-_.~") == "AZaz09-_.~")
        #expect(APIClient.percentEncode("a b/c:d") == "a%20b%2Fc%3Ad")
        #expect(APIClient.percentEncode(#"{"label":["a=b"]}"#) == "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D")
        #expect(APIClient.percentEncode("é\n") == "%C3%A9%0A")
        #expect(APIClient.percentEncode("") == "")
        // What the server decodes is what the client encoded.
        let original = #"{"reference":{"busybox:1.36":true}} + é"#
        #expect(APIClient.percentEncode(original).removingQueryEncoding == original)
    }

    @Test func checkMapsStatusesToCodes() throws {
        try APIClient.check(200, [])
        try APIClient.check(304, [])
        let cases: [(Int, BerthError.Code)] = [
            (400, .invalidArgument), (404, .notFound), (409, .conflict), (403, .forbidden), (500, .internalError),
            (503, .internalError),
        ]
        for (status, code) in cases {
            do {
                try APIClient.check(status, Array(#"{"message":"No such container: web"}"#.utf8))
                Issue.record("\(status) did not throw")
            } catch {
                #expect(error.code == code, "\(status)")
                #expect(error.message == "Error response from daemon: No such container: web")
            }
        }
        do {
            try APIClient.check(502, Array("Bad Gateway".utf8))
            Issue.record("502 did not throw")
        } catch {
            #expect(error.message == "Error response from daemon: Bad Gateway")
        }
    }

    @Test func callOverAUnixSocket() throws {
        let received = Received()
        let (path, listener) = try #require(
            serveOnce(
                response:
                    "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK",
                received: received))
        defer {
            close(listener)
            unlink(path)
        }
        let response = try APIClient(host: "unix://" + path).call("GET", "/_ping", query: [("a", "b c")])
        #expect(response.status == 200)
        #expect(response.header("api-version") == "1.44")
        #expect(String(decoding: response.body, as: UTF8.self) == "OK")
        let request = received.text.withLock { $0 }
        #expect(request.hasPrefix("GET /v1.44/_ping?a=b%20c HTTP/1.1\r\n"))
        #expect(request.contains("\r\nConnection: close\r\n"))
    }

    @Test func connectFailuresAreUnavailable() {
        let path = "/var/tmp/berth-api-test-missing-\(UInt32.random(in: 0...UInt32.max)).sock"
        do {
            _ = try APIClient(host: "unix://" + path).connect()
            Issue.record("connected to a missing socket")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("Cannot connect to the Berth daemon at unix://\(path). Is berthd running?"))
        }
        do {
            _ = try APIClient(host: "tcp://127.0.0.1").connect()
            Issue.record("tcp host without a port accepted")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }
}
