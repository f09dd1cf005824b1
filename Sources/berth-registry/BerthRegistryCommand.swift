// berth-registry: Berth's private registry (the OCI distribution API) and its garbage collector.
// `berth registry serve|gc ...` runs this executable.
import ArgumentParser
import BerthCore
import BerthOS
import BerthRegistry
import Glibc
import Logging
import NIOCore
import NIOPosix
import UnixSignals

@main
struct BerthRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth-registry", abstract: "Berth's private image registry (OCI distribution API).",
        subcommands: [Serve.self, GC.self])
}

/// Flags shared by `serve` and `gc`: where the configuration and the content are.
struct Location: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration file (Lua, returns a table).", valueName: "file"))
    var config: String?
    @Option(
        help: ArgumentHelp("Directory of the registry's content (default /var/lib/berth-registry).", valueName: "dir"))
    var root: String?

    func load() throws(BerthError) -> RegistryConfiguration {
        var c =
            try config.map { (path) throws(BerthError) in try RegistryConfiguration.load(path: path) }
            ?? RegistryConfiguration()
        if let root {
            guard root.hasPrefix("/") else { throw .invalidArgument("--root must be an absolute path: \(root)") }
            c.root = root
        }
        return c
    }
}

func fail(_ message: String) -> Never {
    _ = try? FileSystem.writeAll(fd: 2, Array("berth-registry: \(message)\n".utf8), what: "stderr")
    exit(1)
}

extension BerthRegistryCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the registry until SIGTERM or SIGINT.")

        @OptionGroup var location: Location
        @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:5000).", valueName: "host:port"))
        var addr: String?
        @Option(
            name: .customLong("tls-cert"),
            help: ArgumentHelp("Serve HTTPS with this certificate (PEM).", valueName: "file"))
        var tlsCert: String?
        @Option(
            name: .customLong("tls-key"), help: ArgumentHelp("The certificate's private key (PEM).", valueName: "file"))
        var tlsKey: String?
        @Option(
            name: .customLong("tls-client-ca"),
            help: ArgumentHelp("Require client certificates signed by this CA.", valueName: "file"))
        var tlsClientCA: String?
        @Option(
            help: ArgumentHelp("Require basic authentication against this htpasswd file (bcrypt).", valueName: "file"))
        var htpasswd: String?
        @Option(help: "Realm named in authentication challenges.") var realm: String?
        @Flag(name: .customLong("no-delete"), help: "Refuse DELETE of manifests, tags and blobs.")
        var noDelete = false
        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: String?

        func configuration() throws(BerthError) -> RegistryConfiguration {
            var c = try location.load()
            if let addr { try c.setAddress(addr) }
            switch (tlsCert ?? c.tls?.certificate, tlsKey ?? c.tls?.key) {
            case (nil, nil): break
            case (let cert?, let key?):
                c.tls = .init(certificate: cert, key: key, clientCA: tlsClientCA ?? c.tls?.clientCA)
            default: throw .invalidArgument("--tls-cert and --tls-key go together")
            }
            if tlsClientCA != nil, c.tls == nil {
                throw .invalidArgument("--tls-client-ca needs --tls-cert and --tls-key")
            }
            if let htpasswd { c.htpasswd = htpasswd }
            if let realm { c.realm = realm }
            if noDelete { c.allowDelete = false }
            if let logLevel {
                guard RegistryConfiguration.logLevels.contains(logLevel) else {
                    throw .invalidArgument(
                        "--log-level: expected one of \(RegistryConfiguration.logLevels.joined(separator: ", "))")
                }
                c.logLevel = logLevel
            }
            return c
        }

        func run() async throws {
            let config: RegistryConfiguration
            do { config = try configuration() } catch { fail(error.message) }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
                return handler
            }
            let logger = Logger(label: "berth-registry")
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let channel: any Channel
            let server: RegistryServer
            do {
                server = try RegistryServer(configuration: config, logger: logger)
                channel = try await server.bind(group: group)
            } catch {
                fail(error.message)
            }
            let port = channel.localAddress?.port ?? config.port
            logger.info(
                "listening",
                metadata: [
                    "address": "\(config.host):\(port)", "root": "\(config.root)",
                    "tls": "\(config.tls != nil)", "auth": "\(config.htpasswd != nil)",
                ])
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
            logger.info("stopping")
            try? await channel.close()
            try? await group.shutdownGracefully()
            withExtendedLifetime(server) {}
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete blobs that no manifest references (the registry must be stopped).")

        @OptionGroup var location: Location
        @Flag(name: .customLong("dry-run"), help: "Only list what would be deleted.") var dryRun = false
        @Flag(name: .customLong("delete-untagged"), help: "Also delete manifests that no tag reaches.")
        var deleteUntagged = false

        func run() async throws {
            do {
                let config = try location.load()
                let report = try RegistryCollector.collect(
                    root: config.root, deleteUntagged: deleteUntagged, dryRun: dryRun)
                let verb = dryRun ? "would delete" : "deleted"
                for m in report.manifests { print("\(verb) manifest \(m)") }
                for b in report.blobs { print("\(verb) blob \(b)") }
                print(
                    "\(report.blobs.count) blobs (\(report.bytes) bytes) and \(report.manifests.count) manifests \(dryRun ? "to delete" : "deleted")"
                )
            } catch let error as BerthError {
                fail(error.message)
            }
        }
    }
}
