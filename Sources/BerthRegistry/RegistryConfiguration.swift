import BerthCore
import BerthLua
import BerthOS

/// How a registry serves: address, root, TLS, authentication. Read from a Lua file that returns a table
/// (`berth-registry serve --config FILE`), then overridden by flags:
///
/// ```lua
/// return {
///   addr = "127.0.0.1:5000",
///   root = "/var/lib/berth-registry",
///   delete = true,                      -- DELETE of manifests, tags and blobs
///   auth = { htpasswd = "/etc/berth/registry.htpasswd", realm = "Berth Registry" },
///   tls = { certificate = "/etc/berth/registry.crt", key = "/etc/berth/registry.key", client_ca = nil },
///   upload_purge_age = 604800,          -- seconds before an abandoned upload is removed at start
///   log_level = "info",
/// }
/// ```
public struct RegistryConfiguration: Sendable, Equatable {
    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// Clients must present a certificate signed by this CA (mutual TLS).
        public var clientCA: String?

        public init(certificate: String, key: String, clientCA: String? = nil) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public var host = "127.0.0.1"
    public var port = 5000
    public var root = "/var/lib/berth-registry"
    public var tls: TLS?
    public var htpasswd: String?
    public var realm = "Berth Registry"
    public var allowDelete = true
    public var uploadPurgeAge = 7 * 24 * 3600
    public var logLevel = "info"

    public init() {}

    /// `HOST:PORT`, `:PORT` (all addresses) or `[V6]:PORT`.
    public mutating func setAddress(_ text: String) throws(BerthError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw .invalidArgument("invalid address \(text): expected HOST:PORT") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    static let keys = ["addr", "root", "delete", "auth", "tls", "upload_purge_age", "log_level"]

    /// Reads the Lua file at `path` over the defaults.
    public static func load(path: String) throws(BerthError) -> RegistryConfiguration {
        let source: String
        do { source = try FileSystem.readText(path) } catch {
            throw BerthError(error.code, "config file \(path): \(error.message)")
        }
        guard case .object(let members) = try ConfigFile.evaluate(source: source, file: path) else {
            throw .invalidArgument("\(path): the file must return one table (return { ... })")
        }
        var config = RegistryConfiguration()
        for (key, value) in members {
            func fail(_ what: String) -> BerthError { .invalidArgument("\(path): \(key) must be \(what)") }
            switch key {
            case "addr":
                guard let s = value.stringValue else { throw fail("a string \"HOST:PORT\"") }
                try config.setAddress(s)
            case "root":
                guard let s = value.stringValue, s.hasPrefix("/") else { throw fail("an absolute path") }
                config.root = s
            case "delete":
                guard let b = value.boolValue else { throw fail("true or false") }
                config.allowDelete = b
            case "upload_purge_age":
                guard let n = value.intValue, n > 0 else { throw fail("a number of seconds") }
                config.uploadPurgeAge = n
            case "log_level":
                guard let s = value.stringValue, Self.logLevels.contains(s) else {
                    throw fail("one of \(Self.logLevels.joined(separator: ", "))")
                }
                config.logLevel = s
            case "auth":
                guard let htpasswd = value["htpasswd"]?.stringValue else {
                    throw fail("{ htpasswd = PATH, realm = NAME }")
                }
                config.htpasswd = htpasswd
                if let realm = value["realm"]?.stringValue { config.realm = realm }
            case "tls":
                guard let cert = value["certificate"]?.stringValue, let key = value["key"]?.stringValue else {
                    throw fail("{ certificate = PATH, key = PATH, client_ca = PATH }")
                }
                config.tls = TLS(certificate: cert, key: key, clientCA: value["client_ca"]?.stringValue)
            default:
                let hint = ConfigFile.suggestion(for: key, among: keys).map { " (did you mean \($0)?)" } ?? ""
                throw .invalidArgument(
                    "\(path): unknown key \(key)\(hint); known keys: \(keys.joined(separator: ", "))")
            }
        }
        return config
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}
