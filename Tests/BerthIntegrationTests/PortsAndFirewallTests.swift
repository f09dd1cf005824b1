import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// Published ports and isolation, with the real kernel's nftables and real containers.
@Suite(.serialized)
struct PortsAndFirewallTests {
    /// A TCP port nobody uses now.
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        _ = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: sa.sin_port)
    }

    /// Reads what a server sends, retrying while it starts.
    static func fetch(_ address: String, _ port: UInt16) -> String {
        for _ in 0..<30 {
            let answer = BridgeNetworkTests.read(from: address, port: port)
            if !answer.isEmpty { return answer }
            usleep(100_000)
        }
        return ""
    }

    static func nftRules(_ d: TestDaemon) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        p.arguments = ["list", "table", "ip", d.nftTable]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try? p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return out
    }

    static func server(_ d: TestDaemon, text: String, host: [(String, JSONValue)], config: [(String, JSONValue)] = [])
        throws -> String
    {
        let id = try d.create(
            ["sh", "-c", "while true; do echo \(text) | nc -l -p 80; done"], config: config, host: host)
        try d.client.checked("POST", "/containers/\(id)/start")
        return id
    }

    @Test func publishedPortsAnswerOnLoopbackAndHostAddresses() async throws {
        try await TestDaemon.with { d in
            let loop = Self.freePort()
            let any = Self.freePort()
            let bindings: JSONValue = .object([
                (
                    "80/tcp",
                    .array([
                        .object([("HostIp", .string("127.0.0.1")), ("HostPort", .string(String(loop)))]),
                        .object([("HostIp", .string("")), ("HostPort", .string(String(any)))]),
                    ])
                )
            ])
            let id = try Self.server(d, text: "pub-ok", host: [("PortBindings", bindings)])
            #expect(Self.fetch("127.0.0.1", loop) == "pub-ok\n")
            #expect(Self.fetch("127.0.0.1", any) == "pub-ok\n")
            let ports = try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]?["Ports"]?[
                "80/tcp"]
            let shown = (ports?.arrayValue ?? []).map {
                "\($0["HostIp"]?.stringValue ?? ""):\($0["HostPort"]?.stringValue ?? "")"
            }
            #expect(shown.sorted() == ["0.0.0.0:\(any)", "127.0.0.1:\(loop)"].sorted())
            let list = try d.client.checked("GET", "/containers/json").json?.arrayValue ?? []
            #expect(list.first { $0["Id"]?.stringValue == id }?["Ports"]?.arrayValue?.count == 2)
            #expect(Self.nftRules(d).contains("tcp dport \(loop) dnat to"))

            // A host port that is taken: a clear 409 and nothing half-wired.
            let taken = try d.create(
                ["sleep", "30"],
                host: [("PortBindings", .object([("80/tcp", .array([.object([("HostPort", .string(String(any)))])]))]))]
            )
            let start = try d.client.call("POST", "/containers/\(taken)/start")
            #expect(start.status == 409)
            #expect(start.json?["message"]?.stringValue?.contains("port is already allocated") == true)
            #expect(
                try d.client.checked("GET", "/containers/\(taken)/json").json?["State"]?["Running"]?.boolValue == false)

            // Removal takes the rules and frees the ports.
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
            #expect(!Self.nftRules(d).contains("dport \(loop)"))
            _ = try PortReservationProbe.bindable(any)
        }
    }

    /// Sends `text` in a datagram and returns the answer, retrying while the server starts.
    static func udpExchange(_ address: String, _ port: UInt16, _ text: String, attempts: Int = 30) -> String {
        for _ in 0..<attempts {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return "" }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = (IPv4Address(address)?.value ?? 0).bigEndian
            let sent = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, text.utf8.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard sent == text.utf8.count else { return "" }
            var buf = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { return String(decoding: buf[0..<n], as: UTF8.self) }
        }
        return ""
    }

    /// UDP published ports answered by a UDP server in the container (a static helper: busybox's nc has no
    /// UDP), from loopback and from another host address; TCP published ports reached through a host address
    /// by a container on the same network (hairpin) and by one on another network.
    @Test func udpPortsAndPortsReachedThroughHostAddresses() async throws {
        try await TestDaemon.with { d in
            let echo = try d.compileFixture("udp-echo")
            try d.importImage(
                tar: d.makeBusyboxTar(name: "udpecho", extra: ["\(echo):/usr/bin/udp-echo"]), name: "udpecho:latest")
            let loop = Self.freePort()
            let any = Self.freePort()
            let bindings: JSONValue = .object([
                (
                    "5353/udp",
                    .array([
                        .object([("HostIp", .string("127.0.0.1")), ("HostPort", .string(String(loop)))]),
                        .object([("HostIp", .string("")), ("HostPort", .string(String(any)))]),
                    ])
                )
            ])
            let udp = try d.create(["udp-echo", "5353", "srv"], host: [("PortBindings", bindings)], image: "udpecho")
            try d.client.checked("POST", "/containers/\(udp)/start")
            let gateway = try #require(
                try d.client.checked("GET", "/containers/\(udp)/json").json?["NetworkSettings"]?["Gateway"]?
                    .stringValue)
            #expect(Self.udpExchange("127.0.0.1", loop, "ping") == "srv:ping")
            #expect(Self.udpExchange(gateway, any, "pong") == "srv:pong")
            #expect(Self.udpExchange(gateway, loop, "nobody", attempts: 3) == "")
            #expect(Self.nftRules(d).contains("udp dport \(loop) dnat to"))
            let ports = try d.client.checked("GET", "/containers/\(udp)/json").json?["NetworkSettings"]?["Ports"]
            #expect(ports?["5353/udp"]?.arrayValue?.count == 2)

            // TCP through the host's address on the bridge, from the host, from a neighbour on the same bridge
            // (hairpin NAT) and from a container on a user network.
            let tcpPort = Self.freePort()
            let web = try Self.server(
                d, text: "via-host",
                host: [
                    (
                        "PortBindings",
                        .object([("80/tcp", .array([.object([("HostPort", .string(String(tcpPort)))])]))])
                    )
                ])
            #expect(Self.fetch(gateway, tcpPort) == "via-host\n")
            let neighbour = try d.run(["nc", "-w", "3", gateway, String(tcpPort)], host: BridgeNetworkTests.bridge)
            #expect(neighbour.stdout == "via-host\n")
            try d.client.checked("POST", "/networks/create", body: Array("{\"Name\":\"elsewhere\"}".utf8))
            let stranger = try d.run(
                ["nc", "-w", "3", gateway, String(tcpPort)], host: [("NetworkMode", .string("elsewhere"))])
            #expect(stranger.stdout == "via-host\n")
            for c in [udp, web] { try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")]) }
            try d.client.checked("DELETE", "/networks/elsewhere")
        }
    }

    @Test func publishAllMapsExposedPortsToFreePorts() async throws {
        try await TestDaemon.with { d in
            let id = try Self.server(
                d, text: "all-ok", host: [("PublishAllPorts", .bool(true))],
                config: [("ExposedPorts", .object([("80/tcp", .object([]))]))])
            let port = try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]?["Ports"]?[
                "80/tcp"]?
                .arrayValue?.first?["HostPort"]?.stringValue
            let number = try #require(port.flatMap { UInt16($0) })
            #expect(Self.fetch("127.0.0.1", number) == "all-ok\n")
        }
    }

    @Test func networksAreIsolatedAndInternalOnesStayInside() async throws {
        try await TestDaemon.with { d in
            for (name, isInternal) in [("neta", false), ("netb", false), ("inner", true)] {
                let body: JSONValue = .object([("Name", .string(name)), ("Internal", .bool(isInternal))])
                try d.client.checked("POST", "/networks/create", body: Array(body.serialized.utf8))
            }
            let server = try Self.server(d, text: "a-ok", host: [("NetworkMode", .string("neta"))])
            let ip = try #require(
                try d.client.checked("GET", "/containers/\(server)/json").json?["NetworkSettings"]?["Networks"]?[
                    "neta"]?[
                        "IPAddress"]?.stringValue)
            let probe =
                "for i in 1 2 3 4 5; do nc -w 1 \(ip) 80 </dev/null && exit 0; sleep 0.2; done; echo unreachable"
            let same = try d.run(["sh", "-c", probe], host: [("NetworkMode", .string("neta"))])
            #expect(same.stdout == "a-ok\n")
            let other = try d.run(["sh", "-c", probe], host: [("NetworkMode", .string("netb"))])
            #expect(other.stdout == "unreachable\n")
            let inner = try d.run(["sh", "-c", probe + "; ip route"], host: [("NetworkMode", .string("inner"))])
            #expect(inner.stdout.hasPrefix("unreachable\n"))
            #expect(!inner.stdout.contains("default via"), "an internal network has no route out")
            let rules = Self.nftRules(d)
            #expect(rules.contains("masquerade"))
            try d.client.checked("DELETE", "/containers/\(server)", query: [("force", "1")])
        }
    }
}

enum PortReservationProbe {
    /// Binds and releases `port` (throws when something still holds it).
    static func bindable(_ port: UInt16) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(rc == 0, "port \(port) is still held")
        return rc == 0
    }
}
