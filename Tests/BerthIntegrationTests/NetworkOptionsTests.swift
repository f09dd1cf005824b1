import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// --ip, --mac-address, --link, --network container:NAME, --dns, --dns-search, --add-host.
@Suite(.serialized)
struct NetworkOptionsTests {
    static func createBody(_ d: TestDaemon, _ body: JSONValue, name: String? = nil) throws -> APIClient.Response {
        try d.client.call(
            "POST", "/containers/create", query: name.map { [("name", $0)] } ?? [], body: Array(body.serialized.utf8))
    }

    @Test func fixedAddressAndMAC() async throws {
        try await TestDaemon.with { d in
            let net: JSONValue = .object([
                ("Name", .string("fixed")),
                ("IPAM", .object([("Config", .array([.object([("Subnet", .string("10.213.77.0/24"))])]))])),
            ])
            try d.client.checked("POST", "/networks/create", body: Array(net.serialized.utf8))
            func body(_ ip: String, mac: String = "") -> JSONValue {
                var endpoint: JSONValue = .object([("IPAMConfig", .object([("IPv4Address", .string(ip))]))])
                if !mac.isEmpty { endpoint["MacAddress"] = .string(mac) }
                return .object([
                    ("Image", .string("busybox")),
                    (
                        "Cmd",
                        .strings([
                            "sh", "-c",
                            "ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4; cat /sys/class/net/eth0/address; sleep 30",
                        ])
                    ),
                    ("HostConfig", .object([("NetworkMode", .string("fixed"))])),
                    ("NetworkingConfig", .object([("EndpointsConfig", .object([("fixed", endpoint)]))])),
                ])
            }
            let id = try #require(
                try Self.createBody(d, body("10.213.77.50", mac: "02:00:00:AA:BB:CC")).json?["Id"]?.stringValue)
            try d.client.checked("POST", "/containers/\(id)/start")
            var out = ""
            for _ in 0..<30 where !out.contains("\n02:") {
                out = try d.logs(id).0
                usleep(100_000)
            }
            #expect(out == "10.213.77.50/24\n02:00:00:aa:bb:cc\n")
            // The same address again: refused at start; an address outside the subnet: refused at create.
            let twin = try #require(try Self.createBody(d, body("10.213.77.50")).json?["Id"]?.stringValue)
            #expect(try d.client.call("POST", "/containers/\(twin)/start").status == 409)
            #expect(try Self.createBody(d, body("10.9.9.9")).status == 400)
            #expect(try Self.createBody(d, body("not-an-ip")).status == 400)
            var bad = body("10.213.77.60")
            bad["NetworkingConfig"]?["EndpointsConfig"]?["fixed"]?["MacAddress"] = .string("02:zz")
            #expect(try Self.createBody(d, bad).status == 400)
            // --ip on the default bridge is refused, as Docker does.
            var onBridge = body("172.17.9.9")
            onBridge["HostConfig"] = .object([("NetworkMode", .string("bridge"))])
            let r = try Self.createBody(d, onBridge)
            #expect(r.status == 400)
            #expect(
                r.json?["message"]?.stringValue
                    == "user specified IP address is supported on user defined networks only")
            for c in [id, twin] { try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")]) }
        }
    }

    @Test func linksSharedNamespacesAndResolverOptions() async throws {
        try await TestDaemon.with { d in
            let db = try d.create(["sleep", "60"], name: "db1")
            try d.client.checked("POST", "/containers/\(db)/start")
            let inspect = try d.client.checked("GET", "/containers/\(db)/json").json
            let ip = inspect?["NetworkSettings"]?["IPAddress"]?.stringValue ?? "?"
            let hostname = inspect?["Config"]?["Hostname"]?.stringValue ?? "?"
            // --link: a hosts entry under the alias.
            let linked = try d.run(
                ["sh", "-c", "grep -w database /etc/hosts"], host: [("Links", .strings(["db1:database"]))])
            #expect(linked.stdout == "\(ip)\tdatabase \(String(db.prefix(12))) db1\n")
            // --network container:db1: the same interface and address, and db1's hostname.
            let shared = try d.run(
                ["sh", "-c", "hostname; ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4"],
                host: [("NetworkMode", .string("container:db1"))])
            #expect(shared.stdout == "\(hostname)\n\(ip)/16\n")
            #expect(
                try Self.createBody(
                    d,
                    .object([
                        ("Image", .string("busybox")),
                        ("HostConfig", .object([("NetworkMode", .string("container:nosuch"))])),
                    ])
                ).status == 400)
            #expect(
                try Self.createBody(
                    d,
                    .object([
                        ("Image", .string("busybox")), ("HostConfig", .object([("Links", .strings(["nosuch:x"]))])),
                    ])
                ).status == 400)
            // --dns, --dns-search, --add-host.
            let resolver = try d.run(
                ["sh", "-c", "cat /etc/resolv.conf; grep -w myhost /etc/hosts"],
                host: [
                    ("Dns", .strings(["10.1.1.1"])), ("DnsSearch", .strings(["example.test"])),
                    ("ExtraHosts", .strings(["myhost:10.2.2.2"])),
                ])
            #expect(resolver.stdout.contains("nameserver 10.1.1.1"))
            #expect(resolver.stdout.contains("search example.test"))
            #expect(resolver.stdout.contains("10.2.2.2\tmyhost"))
            // Linking to a stopped container fails the start.
            try d.client.checked("POST", "/containers/\(db)/stop", query: [("t", "0")])
            let late = try d.create(["true"], host: [("Links", .strings(["db1:database"]))])
            #expect(try d.client.call("POST", "/containers/\(late)/start").status == 409)
        }
    }
}
