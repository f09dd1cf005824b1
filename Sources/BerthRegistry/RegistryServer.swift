import BerthCore
import BerthOS
import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Berth's private registry: the OCI distribution API over HTTP/1.1, or HTTPS with `tls`, on one address, with
/// its content in a `RegistryStore`. The root is locked while it serves, so `gc` cannot run underneath.
public final class RegistryServer: Sendable {
    public let configuration: RegistryConfiguration
    let logger: Logger
    let service: RegistryService
    let sslContext: NIOSSLContext?
    let lock: RootLock

    public init(configuration: RegistryConfiguration, logger: Logger) throws(BerthError) {
        self.configuration = configuration
        self.logger = logger
        lock = try RootLock(root: configuration.root, purpose: "serve")
        let store = try RegistryStore(root: configuration.root)
        let purged = store.purgeUploads(olderThan: configuration.uploadPurgeAge)
        if purged > 0 { logger.info("removed abandoned uploads", metadata: ["count": "\(purged)"]) }
        let auth = try configuration.htpasswd.map { (path) throws(BerthError) in
            try RegistryAuth(htpasswd: path, realm: configuration.realm)
        }
        service = RegistryService(store: store, auth: auth, allowDelete: configuration.allowDelete, logger: logger)
        if let tls = configuration.tls {
            do {
                // Read here, PEM or DER by content: NIOSSL's file loader takes a `.key` file for DER.
                let certBytes = try FileSystem.readFile(tls.certificate)
                let keyBytes = try FileSystem.readFile(tls.key)
                let chain =
                    try Self.isPEM(certBytes)
                    ? NIOSSLCertificate.fromPEMBytes(certBytes) : [NIOSSLCertificate(bytes: certBytes, format: .der)]
                let key = try NIOSSLPrivateKey(bytes: keyBytes, format: Self.isPEM(keyBytes) ? .pem : .der)
                var config = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
                if let ca = tls.clientCA {
                    config.trustRoots = .file(ca)
                    config.certificateVerification = .fullVerification
                }
                sslContext = try NIOSSLContext(configuration: config)
            } catch {
                throw .invalidArgument("TLS certificate \(tls.certificate) or key \(tls.key): \(error)")
            }
        } else {
            sslContext = nil
        }
    }

    static func isPEM(_ bytes: [UInt8]) -> Bool {
        String(decoding: bytes.prefix(4096), as: UTF8.self).contains("-----BEGIN ")
    }

    /// Binds the address; the returned channel serves until it is closed.
    public func bind(group: MultiThreadedEventLoopGroup) async throws(BerthError) -> Channel {
        let service = self.service
        let sslContext = self.sslContext
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let sslContext { try ops.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try ops.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try ops.addHandler(RegistryHTTPHandler(service: service, tls: sslContext != nil))
                }
            }
        do {
            return try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw .unavailable("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
    }
}

/// An exclusive `flock` on `ROOT/.lock`, held for the life of the object: one server, or one `gc`, per root.
final class RootLock: Sendable {
    let fd: Int32

    init(root: String, purpose: String) throws(BerthError) {
        try FileSystem.createDirectory(root)
        let path = root + "/.lock"
        fd = try Syscall.call("open \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let owner = (try? FileSystem.readText(path))?.trimmingSpaces ?? ""
            close(fd)
            throw .conflict(
                "the registry root \(root) is in use\(owner.isEmpty ? "" : " (\(owner))"): stop it before \(purpose)")
        }
        ftruncate(fd, 0)
        _ = try? FileSystem.writeAll(fd: fd, Array("\(purpose), pid \(getpid())\n".utf8), what: path)
    }

    deinit { close(fd) }
}
