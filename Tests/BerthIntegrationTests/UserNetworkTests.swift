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

/// `network connect` and `disconnect` on a running container, and a connection made while stopped.
@Suite(.serialized)
struct ConnectTests {
    @Test func runningContainersJoinAndLeaveNetworks() async throws {
        try await TestDaemon.with { d in
            try d.client.checked("POST", "/networks/create", body: Array("{\"Name\":\"side\"}".utf8))
            let server = try d.create(
                ["sh", "-c", "while true; do echo from-side | nc -l -p 80; done"],
                host: [("NetworkMode", .string("side"))])
            try d.client.checked("POST", "/containers/\(server)/start")
            let serverIP = try #require(
                try d.client.checked("GET", "/containers/\(server)/json").json?["NetworkSettings"]?["Networks"]?[
                    "side"]?[
                        "IPAddress"]?.stringValue)
            // On the default bridge, it cannot reach the other network until it is connected.
            let watcher = try d.create(
                [
                    "sh", "-c",
                    "while true; do echo \"links $(ls /sys/class/net | tr '\\n' ' ')\"; nc -w 1 \(serverIP) 80 </dev/null; sleep 0.3; done",
                ], name: "watcher")
            try d.client.checked("POST", "/containers/\(watcher)/start")
            let body: JSONValue = .object([
                ("Container", .string("watcher")), ("EndpointConfig", .object([("Aliases", .strings(["w2"]))])),
            ])
            try d.client.checked("POST", "/networks/side/connect", body: Array(body.serialized.utf8))
            var logs = ""
            for _ in 0..<50 where !logs.contains("from-side") {
                usleep(200_000)
                logs = try d.logs(watcher).0
            }
            #expect(logs.contains("links eth0 eth1 lo"))
            #expect(logs.contains("from-side"))
            let nets = try d.client.checked("GET", "/containers/\(watcher)/json").json?["NetworkSettings"]?["Networks"]
            #expect(nets?["side"]?["IPAddress"]?.stringValue?.isEmpty == false)
            #expect(nets?["side"]?["Aliases"]?.stringArray == ["w2"])
            let members =
                try d.client.checked("GET", "/networks/side").json?["Containers"]?.objectMembers.map(\.0) ?? []
            #expect(Set(members) == [server, watcher])
            #expect(
                try d.client.call("POST", "/networks/side/connect", body: Array(body.serialized.utf8)).status == 403)
            // After a daemon restart the connection's address and names are still its own.
            let sideIP = nets?["side"]?["IPAddress"]?.stringValue ?? "?"
            d.crash()
            try d.start()
            let lookup = try d.run(
                ["sh", "-c", "nslookup w2 | grep ^Address | tail -1"], host: [("NetworkMode", .string("side"))])
            #expect(lookup.stdout == "Address: \(sideIP)\n")
            // Disconnect: the interface goes away; the network can be removed once nobody is on it.
            try d.client.checked("POST", "/networks/side/disconnect", body: Array("{\"Container\":\"watcher\"}".utf8))
            let before = try d.logs(watcher).0.count
            var after = ""
            for _ in 0..<50 where !after.contains("links eth0 lo") {
                usleep(200_000)
                after = String(try d.logs(watcher).0.dropFirst(before))
            }
            #expect(after.contains("links eth0 lo"))
            #expect(
                try d.client.call("POST", "/networks/side/disconnect", body: Array("{\"Container\":\"watcher\"}".utf8))
                    .status == 403)
            #expect(
                try d.client.call("POST", "/networks/nosuch/connect", body: Array("{\"Container\":\"watcher\"}".utf8))
                    .status == 404)
            #expect(
                try d.client.call("POST", "/networks/host/connect", body: Array("{\"Container\":\"watcher\"}".utf8))
                    .status == 400)
            for c in [server, watcher] { try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")]) }
        }
    }

    @Test func aConnectionMadeWhileStoppedAppliesAtStart() async throws {
        try await TestDaemon.with { d in
            try d.client.checked("POST", "/networks/create", body: Array("{\"Name\":\"later\"}".utf8))
            let id = try d.create(
                ["sh", "-c", "ls /sys/class/net | tr '\\n' ' '; ip route | grep -c default"], name: "late1")
            try d.client.checked("POST", "/networks/later/connect", body: Array("{\"Container\":\"late1\"}".utf8))
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            // Two interfaces, one default route (through the network it was created on).
            #expect(try d.logs(id).0 == "eth0 eth1 lo 1\n")
            try d.client.checked("DELETE", "/containers/\(id)")
        }
    }

    @Test func containersLeaveTheNetworkTheyWereCreatedOn() async throws {
        try await TestDaemon.with { d in
            for n in ["first", "second"] {
                try d.client.checked("POST", "/networks/create", body: Array("{\"Name\":\"\(n)\"}".utf8))
            }
            let gateway = { (n: String) throws -> String in
                try d.client.checked("GET", "/networks/\(n)").json?["IPAM"]?["Config"]?.arrayValue?.first?["Gateway"]?
                    .stringValue
                    ?? "?"
            }
            let id = try d.create(
                [
                    "sh", "-c",
                    "while true; do echo \"links $(ls /sys/class/net | tr '\\n' ' ')$(ip route | grep default)\"; sleep 0.2; done",
                ], host: [("NetworkMode", .string("first"))], name: "leaver")
            try d.client.checked("POST", "/networks/second/connect", body: Array("{\"Container\":\"leaver\"}".utf8))
            try d.client.checked("POST", "/containers/\(id)/start")
            let waitFor = { (text: String) throws -> Bool in
                for _ in 0..<50 {
                    if try d.logs(id).0.contains(text) { return true }
                    usleep(200_000)
                }
                return false
            }
            #expect(try waitFor("links eth0 eth1 lo default via \(gateway("first")) dev eth0"))
            // Live: eth0 goes, the default route moves to the connected network, inspect forgets the network and
            // it can be removed.
            try d.client.checked("POST", "/networks/first/disconnect", body: Array("{\"Container\":\"leaver\"}".utf8))
            #expect(try waitFor("links eth1 lo default via \(gateway("second")) dev eth1"))
            let nets = try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]?["Networks"]
            #expect(nets?.objectMembers.map(\.0) == ["second"])
            #expect(
                try d.client.call("POST", "/networks/first/disconnect", body: Array("{\"Container\":\"leaver\"}".utf8))
                    .status == 403)
            try d.client.checked("DELETE", "/networks/first")
            // The next start has only the connected network, as eth0 with the default route.
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "0")])
            try d.client.checked("POST", "/containers/\(id)/start")
            #expect(try waitFor("links eth0 lo default via \(gateway("second")) dev eth0"))
            // A stopped container disconnected from its only network starts with loopback alone.
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "0")])
            try d.client.checked("POST", "/networks/second/disconnect", body: Array("{\"Container\":\"leaver\"}".utf8))
            try d.client.checked("POST", "/containers/\(id)/start")
            #expect(try waitFor("links lo \n"))
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
            try d.client.checked("DELETE", "/networks/second")
        }
    }
}
