import BerthCore
import BerthOS
import Glibc
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The resolver of user-defined networks: a UDP server on each network's gateway address (in the host's
/// namespace, so containers reach it through their default route) that answers A queries for the names and
/// aliases of the containers on that network, and forwards every other query to the upstream servers.
final class DNSServer: Sendable {
    struct Entry: Sendable {
        let containerID: String
        let names: [String]
        let address: IPv4Address
    }

    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    private let logger: Logger
    /// Upstream servers for names the network does not know; empty means none (SERVFAIL).
    private let upstream: Mutex<[Upstream]>
    private let tables = Mutex<[String: [Entry]]>([:])
    private let channels = Mutex<[String: any Channel]>([:])

    /// A server to forward to: an address and its port (53 unless given, "127.0.0.1:5353").
    struct Upstream: Sendable, Equatable {
        let address: IPv4Address
        let port: UInt16

        init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = IPv4Address(parts[0]) else { return nil }
            self.address = address
            if parts.count == 2 {
                guard let port = UInt16(parts[1]), port > 0 else { return nil }
                self.port = port
            } else {
                port = 53
            }
        }
    }

    init(group: any EventLoopGroup, threadPool: NIOThreadPool, upstream: [Upstream], logger: Logger) {
        self.group = group
        self.threadPool = threadPool
        self.upstream = Mutex(upstream)
        self.logger = logger
    }

    func setUpstream(_ servers: [Upstream]) { upstream.withLock { $0 = servers } }

    /// The nameservers of the host's resolv.conf (loopback ones included: the server runs on the host).
    static func hostUpstream() -> [Upstream] {
        let text = (try? FileSystem.readText("/etc/resolv.conf")) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return f.count >= 2 && f[0] == "nameserver" ? Upstream(String(f[1])) : nil
        }
    }

    // MARK: - Names

    func add(network: String, containerID: String, names: [String], address: IPv4Address) {
        let lowered = names.filter { !$0.isEmpty }.map { $0.lowercased() }
        tables.withLock { t in
            t[network, default: []].removeAll { $0.containerID == containerID }
            t[network, default: []].append(Entry(containerID: containerID, names: lowered, address: address))
        }
    }

    func remove(network: String, containerID: String) {
        tables.withLock { t in t[network]?.removeAll { $0.containerID == containerID } }
    }

    func lookup(network: String, name: String) -> [IPv4Address]? {
        let name = name.hasSuffix(".") ? String(name.dropLast()) : name
        let found = tables.withLock { t in (t[network] ?? []).filter { $0.names.contains(name) }.map(\.address) }
        return found.isEmpty ? nil : found
    }

    // MARK: - Serving

    /// Starts answering on `address`:53 for `network` (idempotent).
    func start(network: String, address: IPv4Address) async throws(BerthError) {
        if channels.withLock({ $0[network] != nil }) { return }
        let handler = Handler(server: self, network: network)
        do {
            let channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { ch in ch.pipeline.addHandler(handler) }
                .bind(host: address.description, port: 53).get()
            channels.withLock { $0[network] = channel }
        } catch {
            throw BerthError(.unavailable, "DNS server on \(address):53: \(error)")
        }
    }

    func stop(network: String) async {
        let channel = channels.withLock { $0.removeValue(forKey: network) }
        try? await channel?.close()
        tables.withLock { _ = $0.removeValue(forKey: network) }
    }

    func stopAll() async {
        let all = channels.withLock { c in
            let v = Array(c.values)
            c.removeAll()
            return v
        }
        for ch in all { try? await ch.close() }
    }

    /// Answers from the table, or relays to the first upstream server that answers (on the thread pool:
    /// a blocking socket with a 2 s timeout per server).
    func respond(to bytes: [UInt8], network: String, on loop: any EventLoop) -> EventLoopFuture<[UInt8]?> {
        guard let q = DNSMessage.parseQuery(bytes) else { return loop.makeSucceededFuture(nil) }
        if let addresses = lookup(network: network, name: q.name) {
            return loop.makeSucceededFuture(DNSMessage.answer(q, addresses: addresses, code: .noError))
        }
        let servers = upstream.withLock { $0 }
        if servers.isEmpty {
            return loop.makeSucceededFuture(DNSMessage.answer(q, addresses: [], code: .serverFailure))
        }
        return threadPool.runIfActive(eventLoop: loop) {
            for server in servers {
                if let reply = Self.relay(bytes, to: server) { return reply }
            }
            return DNSMessage.answer(q, addresses: [], code: .serverFailure)
        }
    }

    static func relay(_ query: [UInt8], to server: Upstream) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = server.port.bigEndian
        sa.sin_addr.s_addr = server.address.value.bigEndian
        let connected = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, send(fd, query, query.count, 0) == query.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        guard n >= 12, buf[0] == query[0], buf[1] == query[1] else { return nil }
        return Array(buf[0..<n])
    }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let server: DNSServer
        let network: String

        init(server: DNSServer, network: String) {
            self.server = server
            self.network = network
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            let remote = envelope.remoteAddress
            let channel = context.channel
            server.respond(to: bytes, network: network, on: context.eventLoop).whenSuccess { reply in
                guard let reply else { return }
                var buffer = channel.allocator.buffer(capacity: reply.count)
                buffer.writeBytes(reply)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
            }
        }
    }
}
