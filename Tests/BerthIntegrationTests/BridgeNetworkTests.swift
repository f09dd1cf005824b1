import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// The bridge network with real containers: addresses, container to container, host to container, restart.
@Suite(.serialized)
struct BridgeNetworkTests {
    static let bridge: [(String, JSONValue)] = [("NetworkMode", .string("bridge"))]

    static func settings(_ d: TestDaemon, _ id: String) throws -> JSONValue? {
        try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]
    }

    /// The host end of a container's veth pair exists (named after the container's ID).
    static func hasVeth(_ id: String) -> Bool {
        FileManager.default.fileExists(atPath: "/sys/class/net/veth" + id.prefix(11))
    }

    @Test func containersTalkOverTheBridge() async throws {
        try await TestDaemon.with { d in
            let server = try d.create(["sh", "-c", "echo hello-over-bridge | nc -l -p 7000"], host: Self.bridge)
            try d.client.checked("POST", "/containers/\(server)/start")
            let ns = try Self.settings(d, server)
            let ip = try #require(ns?["IPAddress"]?.stringValue)
            let gateway = ns?["Gateway"]?.stringValue ?? ""
            #expect(IPv4Address(ip) != nil && IPv4Address(gateway) != nil)
            #expect(ns?["IPPrefixLen"]?.intValue == 16)
            #expect(ns?["MacAddress"]?.stringValue == AddressAllocator.mac(for: IPv4Address(ip)!))
            #expect(ns?["Networks"]?["bridge"]?["IPAddress"]?.stringValue == ip)
            #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(d.bridgeName)"))
            #expect(Self.hasVeth(server))

            // Another container reaches it by address; inside, eth0, the route and /etc/hosts are Docker's.
            let client = try d.run(
                [
                    "sh", "-c",
                    "for i in 1 2 3 4 5; do nc \(ip) 7000 </dev/null && break; sleep 0.2; done; "
                        + "ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4; ip route | head -1; "
                        + "tail -1 /etc/hosts | cut -f1",
                ], host: Self.bridge)
            let lines = client.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "hello-over-bridge", "\(client.stdout) \(client.stderr)")
            #expect(lines.count == 4)
            if lines.count == 4 {
                let own = lines[1].split(separator: "/").first.map(String.init) ?? ""
                #expect(own != ip && IPv4Address(own) != nil)
                #expect(lines[1].hasSuffix("/16"))
                #expect(lines[2] == "default via \(gateway) dev eth0 ")
                #expect(lines[3] == own)
            }
            // The host reaches a container on the bridge too.
            let web = try d.create(["sh", "-c", "echo from-host | nc -l -p 7001"], host: Self.bridge)
            try d.client.checked("POST", "/containers/\(web)/start")
            let webIP = try #require(try Self.settings(d, web)?["IPAddress"]?.stringValue)
            #expect(webIP != ip)
            var answer = ""
            for _ in 0..<25 where answer.isEmpty {
                answer = Self.read(from: webIP, port: 7001)
                if answer.isEmpty { usleep(100_000) }
            }
            #expect(answer == "from-host\n")
            for id in [server, web] { try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")]) }
            // The veth pairs go with the containers' namespaces (the kernel removes them shortly after).
            var gone = false
            for _ in 0..<50 where !gone {
                gone = !Self.hasVeth(server) && !Self.hasVeth(web)
                if !gone { usleep(100_000) }
            }
            #expect(gone)
        }
    }

    /// One TCP read from the host (the test process is in the host's namespace).
    static func read(from address: String, port: UInt16) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = (IPv4Address(address)?.value ?? 0).bigEndian
        let ok = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0 else { return "" }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    @Test func addressesSurviveARestartAndAreReleased() async throws {
        try await TestDaemon.with { d in
            let kept = try d.create(["sleep", "60"], host: Self.bridge)
            try d.client.checked("POST", "/containers/\(kept)/start")
            let keptIP = try #require(try Self.settings(d, kept)?["IPAddress"]?.stringValue)
            d.crash()
            try d.start()
            #expect(try Self.settings(d, kept)?["IPAddress"]?.stringValue == keptIP)
            // A new container never gets the address of one that kept running.
            var seen: Set<String> = [keptIP]
            for _ in 0..<3 {
                let r = try d.run(
                    ["sh", "-c", "ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4"], host: Self.bridge)
                let ip = String(r.stdout.split(separator: "/").first ?? "")
                #expect(IPv4Address(ip) != nil, "\(r.stdout) \(r.stderr)")
                #expect(!seen.contains(ip), "\(ip) handed out twice")
                seen.insert(ip)
                #expect(r.inspect["NetworkSettings"]?["IPAddress"]?.stringValue == "", "released at exit")
            }
            try d.client.checked("POST", "/containers/\(kept)/stop", query: [("t", "0")])
            #expect(try Self.settings(d, kept)?["IPAddress"]?.stringValue == "")
        }
    }
}
