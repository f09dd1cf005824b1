import BerthAPIClient
import BerthCore
import Testing

@testable import BerthAPI

struct RouterTests {
    /// Each handler answers with its own name, so a match shows which route won.
    static let router = Router { t in
        for (method, pattern) in [
            ("GET", "/containers/json"), ("GET", "/containers/{id}/json"), ("POST", "/containers/{id}/start"),
            ("GET", "/images/{name*}/json"), ("DELETE", "/images/{name*}"), ("POST", "/images/{name*}/tag"),
            ("GET", "/_ping"),
        ] {
            t.add(method, pattern) { _ in .text("\(method) \(pattern)") }
        }
    }

    /// The route that matched and its parameters, or nil.
    private func route(_ method: String, _ path: String) async throws -> (String, [String: String])? {
        guard let (handler, params) = Self.router.match(method: method, path: path) else { return nil }
        let request = HTTPRequest(method: method, path: path, apiVersion: .maximum, query: [:], headers: [], body: [])
        guard case .bytes(let body) = try await handler(request).body else { return nil }
        return (String(decoding: body, as: UTF8.self), params)
    }

    @Test func singleSegmentParameter() async throws {
        let inspect = try await route("GET", "/containers/abc123/json")
        #expect(inspect?.0 == "GET /containers/{id}/json")
        #expect(inspect?.1 == ["id": "abc123"])
        #expect(try await route("POST", "/containers/web/start")?.1 == ["id": "web"])
        // A literal segment is not taken as a parameter.
        #expect(try await route("GET", "/containers/json")?.0 == "GET /containers/json")
        #expect(try await route("GET", "/_ping")?.1 == [:])
    }

    @Test func greedyParameterTakesSlashesAndColons() async throws {
        let inspect = try await route("GET", "/images/localhost:5000/a/b:v1/json")
        #expect(inspect?.0 == "GET /images/{name*}/json")
        #expect(inspect?.1 == ["name": "localhost:5000/a/b:v1"])
        #expect(try await route("GET", "/images/busybox/json")?.1 == ["name": "busybox"])
        // A name that itself ends in /json: the longest run that still lets the rest match.
        #expect(try await route("GET", "/images/a/json/json")?.1 == ["name": "a/json"])
        #expect(try await route("POST", "/images/localhost:5000/a/b:v1/tag")?.1 == ["name": "localhost:5000/a/b:v1"])
    }

    @Test func greedyParameterAtTheEnd() async throws {
        let delete = try await route("DELETE", "/images/localhost:5000/a/b:v1")
        #expect(delete?.0 == "DELETE /images/{name*}")
        #expect(delete?.1 == ["name": "localhost:5000/a/b:v1"])
        #expect(try await route("DELETE", "/images/sha256:0123abcd")?.1 == ["name": "sha256:0123abcd"])
    }

    @Test func noMatchIsNil() async throws {
        #expect(try await route("GET", "/nope") == nil)
        #expect(try await route("PUT", "/containers/abc/json") == nil)
        #expect(try await route("GET", "/containers/abc/json/extra") == nil)
        #expect(try await route("GET", "/containers//json") == nil)
        #expect(try await route("GET", "/images/json") == nil)
        #expect(try await route("DELETE", "/images") == nil)
        #expect(try await route("GET", "") == nil)
    }

    @Test func parametersArePercentDecoded() async throws {
        #expect(try await route("GET", "/containers/my%20name/json")?.1 == ["id": "my name"])
        // docker-py quotes `@` in digests; the greedy parameter is decoded too.
        #expect(
            try await route("GET", "/images/busybox%40sha256%3A0123/json")?.1 == ["name": "busybox@sha256:0123"])
        #expect(try await route("DELETE", "/images/localhost%3A5000%2Fa")?.1 == ["name": "localhost:5000/a"])
    }

    @Test func percentAndQueryDecoding() {
        #expect("a%2Fb".removingPercentEncoding == "a/b")
        #expect("%C3%A9t%C3%A9".removingPercentEncoding == "été")
        #expect("100%".removingPercentEncoding == "100%")
        #expect("%zz%4".removingPercentEncoding == "%zz%4")
        #expect("a+b".removingPercentEncoding == "a+b")
        #expect("a+b%2Bc".removingQueryEncoding == "a b+c")
        #expect("plain".removingQueryEncoding == "plain")
    }
}
