import BerthAPIClient
import BerthCore
import Foundation
import Synchronization
import Testing

/// What must hold across a daemon restart, UDP publishing, and the resolver's upstream forwarding.
@Suite(.serialized)
struct NetworkRestoreTests {
    @Test func publishedPortsAndRulesSurviveARestart() async throws {
        try await TestDaemon.with { d in
            let port = PortsAndFirewallTests.freePort()
            let bindings: JSONValue = .object([("80/tcp", .array([.object([("HostPort", .string(String(port)))])]))])
            let id = try PortsAndFirewallTests.server(d, text: "kept", host: [("PortBindings", bindings)])
            #expect(PortsAndFirewallTests.fetch("127.0.0.1", port) == "kept\n")
            d.crash()
            try d.start()
            // The table is rebuilt and the port held again; the container kept running.
            #expect(PortsAndFirewallTests.nftRules(d).contains("tcp dport \(port) dnat to"))
            #expect(PortsAndFirewallTests.fetch("127.0.0.1", port) == "kept\n")
            let other = try d.create(
                ["true"],
                host: [
                    ("PortBindings", .object([("80/tcp", .array([.object([("HostPort", .string(String(port)))])]))]))
                ])
            #expect(try d.client.call("POST", "/containers/\(other)/start").status == 409)
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }

    /// The image has no UDP server (busybox nc here speaks TCP only), so UDP publishing is checked by its
    /// rule and by the host port being held, not by traffic.
    @Test func udpPortsArePublished() async throws {
        try await TestDaemon.with { d in
            let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            func bindUDP(_ fd: Int32, _ port: UInt16) -> Int32 {
                sa.sin_port = port.bigEndian
                return withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            _ = bindUDP(probe, 0)
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) }
            }
            let port = UInt16(bigEndian: sa.sin_port)
            close(probe)
            let bindings: JSONValue = .object([
                (
                    "9000/udp",
                    .array([.object([("HostIp", .string("127.0.0.1")), ("HostPort", .string(String(port)))])])
                )
            ])
            let id = try d.create(["sleep", "30"], host: [("PortBindings", bindings)])
            try d.client.checked("POST", "/containers/\(id)/start")
            let ip = try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]?["IPAddress"]?
                .stringValue
            #expect(
                PortsAndFirewallTests.nftRules(d).contains(
                    "ip daddr 127.0.0.1 udp dport \(port) dnat to \(ip ?? "?"):9000"))
            let again = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(again) }
            #expect(bindUDP(again, port) != 0, "the daemon holds the published UDP port")
            let ports = try d.client.checked("GET", "/containers/\(id)/json").json?["NetworkSettings"]?["Ports"]?[
                "9000/udp"]
            #expect(ports?.arrayValue?.first?["HostPort"]?.stringValue == String(port))
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }

    /// A DNS server on 127.0.0.1 that answers every A query with 10.7.7.7.
    final class FakeUpstream: Sendable {
        let fd: Int32
        let port: UInt16
        final class QueryLog: Sendable {
            let names = Mutex<[String]>([])
        }
        let queries = QueryLog()

        init() throws {
            let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
            }
            fd = sock
            port = UInt16(bigEndian: sa.sin_port)
            let queries = self.queries
            let fd = sock
            Thread.detachNewThread {
                var buf = [UInt8](repeating: 0, count: 512)
                while true {
                    var from = sockaddr_storage()
                    var fromLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    let n = withUnsafeMutablePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, &buf, buf.count, 0, $0, &fromLen)
                        }
                    }
                    if n <= 0 { return }
                    guard let q = DNSMessage.parseQuery(Array(buf[0..<n])) else { continue }
                    queries.names.withLock { $0.append(q.name) }
                    let reply = DNSMessage.answer(q, addresses: [IPv4Address(0x0A07_0707)], code: .noError)
                    _ = withUnsafePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, reply, reply.count, 0, $0, fromLen)
                        }
                    }
                }
            }
        }

        deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    @Test func unknownNamesGoToTheUpstreamServers() async throws {
        let upstream = try FakeUpstream()
        let config = "network = { dns_upstream = { \"127.0.0.1:\(upstream.port)\" } },"
        let d = try TestDaemon()
        defer { d.cleanUp() }
        try d.writeConfig(
            config.replacingOccurrences(
                of: "network = {",
                with: "network = { bridge = { name = \"\(d.bridgeName)\" }, nft_table = \"\(d.nftTable)\","))
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        try d.client.checked("POST", "/networks/create", body: Array("{\"Name\":\"fwd\"}".utf8))
        let r = try d.run(
            ["sh", "-c", "nslookup far.example.test | grep ^Address | tail -1"], host: [("NetworkMode", .string("fwd"))]
        )
        #expect(r.stdout == "Address: 10.7.7.7\n", "\(r.stdout) \(r.stderr)")
        #expect(upstream.queries.names.withLock { $0 }.contains("far.example.test"))
    }
}
