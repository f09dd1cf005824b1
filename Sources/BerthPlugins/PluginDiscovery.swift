import BerthCore
import BerthOS
import Glibc

/// Where a plugin listens, and the file that said so.
public struct PluginEndpoint: Sendable, Equatable {
    public var name: String
    /// `unix:///path.sock`, `tcp://host:port`, or `https://host:port` (with `tls`).
    public var address: String
    /// The socket, spec or JSON file it was found by.
    public var source: String
    /// TLS settings of an `https://` plugin (a `NAME.json`'s `TLSConfig`).
    public var tls: PluginTLS?

    public init(name: String, address: String, source: String, tls: PluginTLS? = nil) {
        self.name = name
        self.address = address
        self.source = source
        self.tls = tls
    }
}

/// A `NAME.json`'s `TLSConfig`: the CA to verify the plugin with (the system's when empty), the client
/// certificate and key Berth presents, or no verification at all (`InsecureSkipVerify`).
public struct PluginTLS: Sendable, Equatable {
    public var caFile = ""
    public var certFile = ""
    public var keyFile = ""
    public var insecureSkipVerify = false
    public init() {}
}

/// Docker's legacy plugin discovery: in each directory, in order, a socket `NAME.sock` or `NAME/NAME.sock`
/// first; then spec files `NAME.spec` (a URL) and `NAME.json` (`{"Name","Addr","TLSConfig"}`). The file name
/// without its extension is the plugin's name.
public enum PluginDiscovery {
    public static func isValidName(_ name: String) -> Bool { EngineConfiguration.Plugins.isValidName(name) }

    /// Plugin `name`: the first socket in any directory, else the first spec file.
    public static func find(_ name: String, in dirs: [String]) throws(BerthError) -> PluginEndpoint? {
        guard isValidName(name) else { throw .invalidArgument("invalid plugin name \"\(name)\"") }
        for dir in dirs {
            for path in EngineConfiguration.Plugins.candidatePaths(name, in: dir).sockets where isSocket(path) {
                return PluginEndpoint(name: name, address: "unix://" + path, source: path)
            }
        }
        for dir in dirs {
            let spec = "\(dir)/\(name).spec"
            if let text = try? FileSystem.readText(spec) {
                return PluginEndpoint(name: name, address: try address(text.trimmingSpaces, in: spec), source: spec)
            }
            let json = "\(dir)/\(name).json"
            if let bytes = try? FileSystem.readFile(json) {
                guard let value = try? JSONValue.parse(bytes: bytes), let addr = value["Addr"]?.stringValue else {
                    throw .invalidArgument("plugin spec \(json): expected {\"Name\", \"Addr\"}")
                }
                return try jsonEndpoint(name, addr: addr, tlsConfig: value["TLSConfig"], in: json)
            }
        }
        return nil
    }

    /// Every plugin the directories name (each once, as `find` would resolve it), sorted by name.
    public static func all(in dirs: [String]) -> [PluginEndpoint] {
        var names: Set<String> = []
        for dir in dirs {
            for entry in (try? FileSystem.list(dir)) ?? [] {
                for suffix in [".sock", ".spec", ".json"] where entry.hasSuffix(suffix) {
                    names.insert(String(entry.dropLast(suffix.count)))
                }
                if isSocket("\(dir)/\(entry)/\(entry).sock") { names.insert(entry) }
            }
        }
        return names.filter(isValidName).sorted().compactMap { try? find($0, in: dirs) }
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
    }

    /// A spec's URL: `unix:///path`, `tcp://host:port` or `http://host:port`. TLS needs a `NAME.json`.
    static func address(_ text: String, in file: String) throws(BerthError) -> String {
        if text.hasPrefix("unix:///") || text.hasPrefix("tcp://") { return text }
        if text.hasPrefix("http://") { return "tcp://" + hostPort(text) }
        if text.hasPrefix("https://") {
            throw .invalidArgument(
                "plugin spec \(file): a TLS endpoint (\(text)) needs a .json spec with its TLSConfig")
        }
        throw .invalidArgument("plugin spec \(file): \"\(text)\" is not a unix:// or tcp:// address")
    }

    /// "host:port" of "scheme://host:port/…".
    static func hostPort(_ url: String) -> String {
        url.split(separator: "/", maxSplits: 3).dropFirst().first.map(String.init) ?? ""
    }

    /// A `NAME.json`: `Addr` with `TLSConfig` (or an `https://` address) is a TLS plugin; the files it names must
    /// exist.
    static func jsonEndpoint(_ name: String, addr: String, tlsConfig: JSONValue?, in file: String) throws(BerthError)
        -> PluginEndpoint
    {
        var tls = PluginTLS()
        tls.caFile = tlsConfig?["CAFile"]?.stringValue ?? ""
        tls.certFile = tlsConfig?["CertFile"]?.stringValue ?? ""
        tls.keyFile = tlsConfig?["KeyFile"]?.stringValue ?? ""
        tls.insecureSkipVerify = tlsConfig?["InsecureSkipVerify"]?.boolValue ?? false
        let wantsTLS = addr.hasPrefix("https://") || tls != PluginTLS()
        guard wantsTLS else { return PluginEndpoint(name: name, address: try address(addr, in: file), source: file) }
        guard addr.hasPrefix("https://") || addr.hasPrefix("tcp://") else {
            throw .invalidArgument("plugin spec \(file): TLS needs an https:// or tcp:// address, not \"\(addr)\"")
        }
        for path in [tls.caFile, tls.certFile, tls.keyFile] where !path.isEmpty && !FileSystem.exists(path) {
            throw .invalidArgument("plugin spec \(file): \(path) does not exist")
        }
        if tls.certFile.isEmpty != tls.keyFile.isEmpty {
            throw .invalidArgument("plugin spec \(file): CertFile and KeyFile go together")
        }
        return PluginEndpoint(name: name, address: "https://" + hostPort(addr), source: file, tls: tls)
    }
}
