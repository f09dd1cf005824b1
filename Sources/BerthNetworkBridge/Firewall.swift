import BerthCore
import BerthOS
import CNftables
import Glibc

/// Berth's nftables rules, in a table of their own (`ip <table>`), rebuilt whole from the daemon's state in
/// one transaction whenever it changes (a network or a published port comes or goes, the daemon restarts):
/// masquerading for networks that reach out, isolation between networks, no way in or out for internal
/// ones, and DNAT for published ports (from other hosts and from the host itself, loopback included).
public struct Firewall: Sendable, Equatable {
    public struct Network: Sendable, Equatable {
        public var bridge: String
        public var subnet: IPv4Subnet
        public var isInternal: Bool
        public init(bridge: String, subnet: IPv4Subnet, isInternal: Bool) {
            self.bridge = bridge
            self.subnet = subnet
            self.isInternal = isInternal
        }
    }

    public var table: String
    public var networks: [Network] = []
    public var ports: [PublishedPort] = []

    public init(table: String) { self.table = table }

    /// The nft script that replaces the table with this state.
    public var script: String {
        var s = "table ip \(table) {}\ndelete table ip \(table)\ntable ip \(table) {\n"
        let bridges = networks.map { "\"\($0.bridge)\"" }.joined(separator: ", ")
        s += "  set bridges {\n    type ifname\n" + (bridges.isEmpty ? "" : "    elements = { \(bridges) }\n") + "  }\n"
        s += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
        for n in networks where n.isInternal {
            s += "    iifname \"\(n.bridge)\" oifname != \"\(n.bridge)\" drop\n"
            s += "    oifname \"\(n.bridge)\" iifname != \"\(n.bridge)\" drop\n"
        }
        // A published port is reachable through a host address from every network, as with Docker's proxy.
        s += "    ct status dnat accept\n"
        for n in networks where !n.isInternal {
            s += "    iifname \"\(n.bridge)\" oifname @bridges oifname != \"\(n.bridge)\" drop\n"
        }
        s += "  }\n"
        s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        for n in networks where !n.isInternal {
            s += "    ip saddr \(n.subnet) oifname != \"\(n.bridge)\" masquerade\n"
            // Published ports reached from the host's loopback: the source must not stay 127.0.0.1.
            s += "    ip saddr 127.0.0.0/8 oifname \"\(n.bridge)\" masquerade\n"
            // Hairpin: a container reaching a published port of its own network through a host address gets
            // its answer back through the host.
            s += "    ct status dnat ip saddr \(n.subnet) oifname \"\(n.bridge)\" masquerade\n"
        }
        s += "  }\n"
        let dnat = ports.map { p -> String in
            let match = p.hostIP.map { "ip daddr \($0)" } ?? "fib daddr type local"
            return "    \(match) \(p.proto) dport \(p.hostPort) dnat to \(p.containerIP):\(p.containerPort)\n"
        }.joined()
        s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n\(dnat)  }\n"
        s += "  chain output {\n    type nat hook output priority -100; policy accept;\n\(dnat)  }\n"
        s += "}\n"
        return s
    }

    /// Replaces the table in the kernel.
    public func apply() throws(BerthError) { try Nftables.run(script) }

    /// Removes the table (nothing of Berth's left in nftables).
    public static func remove(table: String) throws(BerthError) {
        try Nftables.run("table ip \(table) {}\ndelete table ip \(table)\n")
    }
}

/// A published port: the host side (address or all local addresses, port) and the container side.
public struct PublishedPort: Sendable, Equatable {
    public var proto: String
    public var hostIP: IPv4Address?
    public var hostPort: UInt16
    public var containerIP: IPv4Address
    public var containerPort: UInt16

    public init(proto: String, hostIP: IPv4Address?, hostPort: UInt16, containerIP: IPv4Address, containerPort: UInt16)
    {
        self.proto = proto
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerIP = containerIP
        self.containerPort = containerPort
    }
}

/// libnftables, one context per call.
public enum Nftables {
    public static func run(_ script: String) throws(BerthError) {
        guard let ctx = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw BerthError(.internalError, "nftables: cannot create a context")
        }
        defer { nft_ctx_free(ctx) }
        _ = nft_ctx_buffer_output(ctx)
        _ = nft_ctx_buffer_error(ctx)
        let rc = nft_run_cmd_from_buffer(ctx, script)
        if rc != 0 {
            let message = nft_ctx_get_error_buffer(ctx).map { String(cString: $0) } ?? ""
            throw BerthError(.internalError, "nftables: \(message.trimmingSpaces)")
        }
    }
}

/// Host ports held for published ports: a bound socket per port keeps every other program (and other
/// containers) off it while the DNAT rule sends its traffic to the container, and port 0 picks a free one.
public final class PortReservation: Sendable {
    public let proto: String
    public let hostIP: IPv4Address?
    public let port: UInt16
    private let fd: Int32

    /// Binds `port` (0: any free one) on `hostIP` (nil: every address) for `proto`.
    public init(proto: String, hostIP: IPv4Address?, port: UInt16) throws(BerthError) {
        let type = proto == "udp" ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Syscall.error("socket", errno: errno) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = (hostIP?.value ?? 0).bigEndian
        let bound = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let e = errno
            close(fd)
            let address = "\(hostIP?.description ?? "0.0.0.0"):\(port)"
            if e == EADDRINUSE {
                throw BerthError(
                    .conflict,
                    "driver failed programming external connectivity: Bind for \(address) failed: port is already allocated"
                )
            }
            throw Syscall.error("bind \(address)/\(proto)", errno: e)
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        self.proto = proto
        self.hostIP = hostIP
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    deinit { close(fd) }
}
