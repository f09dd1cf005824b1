import BerthAPIClient
import BerthCore
import Logging
import Testing

@testable import BerthAPI

/// Versioning, query decoding, routing and error mapping, as `APIChannelHandler` does them off the event loop.
struct APIChannelHandlerTests {
    static let router = Router { t in
        t.add("GET", "/containers/{id}/json") { req in
            .json(.object([("id", .string(req.param("id"))), ("version", .string("\(req.apiVersion)"))]))
        }
        t.add("GET", "/echo") { req in
            .json(.object(req.query.sorted { $0.key < $1.key }.map { ($0.key, .strings($0.value)) }))
        }
        t.add("POST", "/fail/{code}") { req in
            switch req.param("code") {
            case "notfound": throw BerthError.notFound("No such container: x")
            case "conflict": throw BerthError.conflict("name in use")
            default: throw CancellationError()
            }
        }
    }

    private func respond(_ method: String, _ uri: String) async -> (Int, String) {
        let response = await APIChannelHandler.respond(
            router: Self.router, logger: Logger(label: "test"), method: method, uri: uri, headers: [], body: [])
        guard case .bytes(let body) = response.body else { return (response.status, "") }
        return (response.status, String(decoding: body, as: UTF8.self))
    }

    @Test func versionPrefixIsOptionalAndBounded() async {
        #expect(await respond("GET", "/v1.41/containers/web/json") == (200, "{\"id\":\"web\",\"version\":\"1.41\"}\n"))
        #expect(await respond("GET", "/containers/web/json") == (200, "{\"id\":\"web\",\"version\":\"1.44\"}\n"))
        let old = await respond("GET", "/v1.12/containers/web/json")
        #expect(old.0 == 400)
        #expect(old.1.contains("client version 1.12 is too old. Minimum supported API version is 1.24"))
        let new = await respond("GET", "/v1.99/containers/web/json")
        #expect(new.0 == 400)
        #expect(new.1.contains("client version 1.99 is too new. Maximum supported API version is 1.44"))
    }

    @Test func queryIsDecoded() async {
        let (status, body) = await respond(
            "GET", "/echo?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D&n=a+b&n=c&flag")
        #expect(status == 200)
        #expect(body == #"{"all":["1"],"filters":["{\"label\":[\"a=b\"]}"],"flag":[""],"n":["a b","c"]}"# + "\n")
    }

    @Test func unknownRoutesAndErrorsMapToStatuses() async {
        #expect(await respond("GET", "/v1.44/nope") == (404, "{\"message\":\"page not found\"}\n"))
        #expect(await respond("POST", "/fail/notfound") == (404, "{\"message\":\"No such container: x\"}\n"))
        #expect(await respond("POST", "/fail/conflict").0 == 409)
        #expect(await respond("POST", "/fail/other").0 == 500)
    }
}
