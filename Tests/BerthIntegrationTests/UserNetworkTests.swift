import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// User-defined bridge networks through the API: create, list, inspect, names, removal rules.
@Suite(.serialized)
struct UserNetworkTests {
    static func create(_ d: TestDaemon, _ body: JSONValue) throws -> APIClient.Response {
        try d.client.call("POST", "/networks/create", body: Array(body.serialized.utf8))
    }

    @Test func networksAreCreatedListedAndRemoved() async throws {
        try await TestDaemon.with { d in
            let list = try d.client.checked("GET", "/networks").json?.arrayValue ?? []
            #expect(list.compactMap { $0["Name"]?.stringValue } == ["bridge", "host", "none"])
            let r = try Self.create(
                d, .object([("Name", .string("appnet")), ("Labels", .map(["team": "a"])), ("Internal", .bool(true))]))
            #expect(r.status == 201)
            let id = try #require(r.json?["Id"]?.stringValue)
            let n = try d.client.checked("GET", "/networks/appnet").json
            #expect(n?["Id"]?.stringValue == id && n?["Driver"]?.stringValue == "bridge")
            #expect(n?["Internal"]?.boolValue == true && n?["Labels"]?["team"]?.stringValue == "a")
            let subnet = try #require(n?["IPAM"]?["Config"]?.arrayValue?.first?["Subnet"]?.stringValue)
            let bridge = try #require(n?["Options"]?["com.docker.network.bridge.name"]?.stringValue)
            #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)"))
            // Bad input: duplicate name, overlapping subnet, bad subnet, unknown driver, built-in names.
            #expect(try Self.create(d, .object([("Name", .string("appnet"))])).status == 409)
            let overlap = try Self.create(
                d,
                .object([
                    ("Name", .string("other")),
                    ("IPAM", .object([("Config", .array([.object([("Subnet", .string(subnet))])]))])),
                ]))
            #expect(overlap.status == 403)
            #expect(overlap.json?["message"]?.stringValue?.contains("Pool overlaps") == true)
            let bad = try Self.create(
                d,
                .object([
                    ("Name", .string("bad")),
                    ("IPAM", .object([("Config", .array([.object([("Subnet", .string("10.1.2.3/24"))])]))])),
                ]))
            #expect(bad.status == 400)
            #expect(
                try Self.create(d, .object([("Name", .string("x2")), ("Driver", .string("nosuch"))])).status == 404)
            #expect(try Self.create(d, .object([("Name", .string("host"))])).status == 403)
            #expect(try d.client.call("DELETE", "/networks/bridge").status == 403)
            #expect(try d.client.call("DELETE", "/networks/nosuch").status == 404)
            // Filters.
            let custom = try d.client.checked("GET", "/networks", query: [("filters", "{\"type\":[\"custom\"]}")])
            #expect(custom.json?.arrayValue?.compactMap { $0["Name"]?.stringValue } == ["appnet"])
            // In use: refused; free again once the container is gone.
            let c = try d.create(["sleep", "60"], host: [("NetworkMode", .string("appnet"))])
            try d.client.checked("POST", "/containers/\(c)/start")
            let members = try d.client.checked("GET", "/networks/\(id)").json?["Containers"]
            #expect(members?[c]?["IPv4Address"]?.stringValue?.hasSuffix("/16") == true)
            let inUse = try d.client.call("DELETE", "/networks/appnet")
            #expect(inUse.status == 403)
            #expect(inUse.json?["message"]?.stringValue?.contains("has active endpoints") == true)
            try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")])
            try d.client.checked("DELETE", "/networks/appnet")
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)"))
            #expect(try d.client.call("GET", "/networks/appnet").status == 404)
            // Prune removes what no container refers to.
            _ = try Self.create(d, .object([("Name", .string("unused"))]))
            let pruned = try d.client.checked("POST", "/networks/prune").json
            #expect(pruned?["NetworksDeleted"]?.stringArray == ["unused"])
        }
    }

    @Test func containersResolveEachOtherByNameAndAlias() async throws {
        try await TestDaemon.with { d in
            _ = try Self.create(d, .object([("Name", .string("dnsnet"))]))
            let body: JSONValue = .object([
                ("Image", .string("busybox")), ("Cmd", .strings(["sh", "-c", "echo answer | nc -l -p 7000"])),
                ("HostConfig", .object([("NetworkMode", .string("dnsnet"))])),
                (
                    "NetworkingConfig",
                    .object([("EndpointsConfig", .object([("dnsnet", .object([("Aliases", .strings(["db"]))]))]))])
                ),
            ])
            let server = try #require(
                try d.client.checked(
                    "POST", "/containers/create", query: [("name", "server1")], body: Array(body.serialized.utf8)
                ).json?["Id"]?.stringValue)
            try d.client.checked("POST", "/containers/\(server)/start")
            let ip = try d.client.checked("GET", "/containers/\(server)/json").json?["NetworkSettings"]?["Networks"]?[
                "dnsnet"]?["IPAddress"]?.stringValue
            let r = try d.run(
                [
                    "sh", "-c",
                    "nslookup server1 | grep ^Address | tail -1; nslookup db | grep ^Address | tail -1; "
                        + "for i in 1 2 3 4 5; do nc server1 7000 </dev/null && break; sleep 0.2; done; "
                        + "nslookup elsewhere.example >/dev/null 2>&1 || echo unresolved",
                ], host: [("NetworkMode", .string("dnsnet"))])
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(
                lines == ["Address: \(ip ?? "?")", "Address: \(ip ?? "?")", "answer", "unresolved"],
                "\(r.stdout) \(r.stderr)")
            // Another network does not know these names.
            _ = try Self.create(d, .object([("Name", .string("othernet"))]))
            let other = try d.run(
                ["sh", "-c", "nslookup server1 >/dev/null 2>&1 && echo found || echo not-found"],
                host: [("NetworkMode", .string("othernet"))])
            #expect(other.stdout == "not-found\n")
            try d.client.checked("DELETE", "/containers/\(server)", query: [("force", "1")])
        }
    }
}
