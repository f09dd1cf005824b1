import BerthAPIClient
import BerthCore
import Testing

@testable import BerthAPI

struct HTTPRequestTests {
    static func request(_ query: [String: [String]] = [:], headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(
            method: "GET", path: "/containers/json", apiVersion: .maximum, query: query, headers: headers, body: [])
    }

    @Test(arguments: ["", "0", "no", "false", "none", "FALSE", "No", "None"])
    func falseValues(_ value: String) {
        #expect(!Self.request(["all": [value]]).bool("all", default: true))
    }

    @Test(arguments: ["1", "True", "true", "yes", "on", "anything"])
    func trueValues(_ value: String) {
        #expect(Self.request(["all": [value]]).bool("all"))
    }

    @Test func absentBoolIsTheDefault() {
        #expect(!Self.request().bool("all"))
        #expect(Self.request().bool("all", default: true))
        // The last value of a repeated parameter counts.
        #expect(!Self.request(["all": ["1", "0"]]).bool("all", default: true))
    }

    @Test func intParameters() throws {
        #expect(try Self.request(["t": ["10"]]).int("t") == 10)
        #expect(try Self.request(["t": [""]]).int("t") == nil)
        #expect(try Self.request().int("t") == nil)
        do {
            _ = try Self.request(["t": ["ten"]]).int("t")
            Issue.record("ten parsed as an int")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "invalid value for t: ten")
        }
    }

    @Test func headersAreCaseInsensitive() {
        let r = Self.request(headers: [("Content-Type", "application/json"), ("X-Registry-Auth", "e30=")])
        #expect(r.header("content-type") == "application/json")
        #expect(r.header("X-REGISTRY-AUTH") == "e30=")
        #expect(r.header("missing") == nil)
        #expect(r.param("id") == "")
    }

    @Test func filtersInCLIForm() throws {
        let r = Self.request(["filters": [#"{"label":{"a=b":true,"c":true,"off":false},"status":{"running":true}}"#]])
        let filters = try r.filters()
        #expect(filters["label"] == ["a=b", "c"])
        #expect(filters["status"] == ["running"])
        #expect(filters.count == 2)
    }

    @Test func filtersInDockerPyForm() throws {
        let r = Self.request(["filters": [#"{"label":["a=b","c"],"name":"web"}"#]])
        #expect(try r.filters() == ["label": ["a=b", "c"], "name": ["web"]])
        #expect(try Self.request().filters().isEmpty)
        #expect(try Self.request(["filters": [""]]).filters().isEmpty)
    }

    @Test(arguments: [#"{"label":"#, #"["label"]"#, #"{"label":5}"#, #"{"label":null}"#, "label=a", #""x""#])
    func malformedFiltersAreInvalidArgument(_ text: String) {
        do {
            let f = try Self.request(["filters": [text]]).filters()
            Issue.record("\(text) gave \(f)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid filter"))
        }
    }
}

struct APIVersionTests {
    @Test func parses() {
        #expect(APIVersion("1.44") == APIVersion(1, 44))
        #expect(APIVersion("1.24")?.minor == 24)
        #expect(APIVersion("2.0") == APIVersion(2, 0))
        for bad in ["", "1", "1.", "v1.44", "1.4.4", "a.b", "1.x"] {
            #expect(APIVersion(bad) == nil, "\(bad)")
        }
    }

    @Test func comparesNumerically() {
        #expect(APIVersion(1, 9) < APIVersion(1, 44))
        #expect(APIVersion(1, 44) > APIVersion(1, 24))
        #expect(APIVersion(2, 0) > APIVersion(1, 99))
        #expect(!(APIVersion(1, 44) < APIVersion(1, 44)))
        #expect(APIVersion.minimum < APIVersion.maximum)
        #expect(APIVersion.maximum.description == "1.44")
        #expect(APIVersion.minimum.description == "1.24")
    }
}

struct ErrorStatusTests {
    @Test(arguments: [
        (BerthError.Code.notFound, 404), (.conflict, 409), (.invalidState, 409), (.invalidArgument, 400),
        (.notModified, 304), (.internalError, 500), (.forbidden, 403), (.unsupported, 501), (.unavailable, 503),
        (.timeout, 504), (.cancelled, 500), (.system(5), 500),
    ])
    func statusTable(_ code: BerthError.Code, _ status: Int) {
        #expect(ErrorStatus.status(for: code) == status)
    }

    @Test func errorResponsesCarryTheMessage() {
        let notFound = HTTPResponse.error(.notFound("No such container: web"))
        #expect(notFound.status == 404)
        #expect(notFound.headers.contains { $0 == ("Content-Type", "application/json") })
        guard case .bytes(let body) = notFound.body else {
            Issue.record("error body is not bytes")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "{\"message\":\"No such container: web\"}\n")

        // 304 has no body.
        let notModified = HTTPResponse.error(BerthError(.notModified, "already started"))
        #expect(notModified.status == 304)
        if case .bytes(let b) = notModified.body { #expect(b.isEmpty) } else { Issue.record("304 body") }
    }
}
