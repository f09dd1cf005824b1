import BerthCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Engine API over HTTP/1.1 on a unix socket or TCP: versioned and bare paths, `{"message"}` errors,
/// streaming and hijacked responses.
public final class APIServer: Sendable {
    public enum Address: Sendable, CustomStringConvertible {
        case unix(String)
        case tcp(host: String, port: Int)

        /// Parses `unix:///run/berth/berth.sock`, `tcp://127.0.0.1:2375`, or a bare path.
        public init(parsing text: String) throws(BerthError) {
            if text.hasPrefix("unix://") {
                self = .unix(String(text.dropFirst(7)))
            } else if text.hasPrefix("tcp://") {
                let rest = text.dropFirst(6)
                guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else {
                    throw .invalidArgument("invalid host address \(text): expected tcp://HOST:PORT")
                }
                self = .tcp(host: String(rest[..<colon]), port: port)
            } else if text.hasPrefix("/") {
                self = .unix(text)
            } else {
                throw .invalidArgument("invalid host address \(text): expected unix://PATH or tcp://HOST:PORT")
            }
        }

        public var description: String {
            switch self {
            case .unix(let p): return "unix://\(p)"
            case .tcp(let h, let p): return "tcp://\(h):\(p)"
            }
        }
    }

    let router: Router
    let logger: Logger
    let commonHeaders: [(String, String)]
    let group: MultiThreadedEventLoopGroup

    public init(router: Router, serverVersion: String, logger: Logger, group: MultiThreadedEventLoopGroup) {
        self.router = router
        self.logger = logger
        self.group = group
        self.commonHeaders = [
            ("Api-Version", APIVersion.maximum.description), ("Docker-Experimental", "false"), ("Ostype", "linux"),
            ("Server", "Docker/\(serverVersion) (linux)"),
        ]
    }

    /// Binds `address` and serves until the returned channel is closed.
    public func bind(_ address: Address) async throws -> Channel {
        let router = self.router
        let logger = self.logger
        let headers = self.commonHeaders
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    try channel.pipeline.syncOperations.addHandler(decoder, name: "http-decoder")
                    try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder(), name: "http-encoder")
                    try channel.pipeline.syncOperations.addHandler(
                        APIChannelHandler(router: router, logger: logger, commonHeaders: headers), name: "api")
                }
            }
        switch address {
        case .unix(let path):
            return try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        case .tcp(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        }
    }
}
