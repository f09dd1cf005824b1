import BerthCore
import BerthOS
import Glibc

/// Where a plugin listens, and the file that said so.
public struct PluginEndpoint: Sendable, Equatable {
    public var name: String
    /// `unix:///path.sock` or `tcp://host:port`.
    public var address: String
    /// The socket, spec or JSON file it was found by.
    public var source: String

    public init(name: String, address: String, source: String) {
        self.name = name
        self.address = address
        self.source = source
    }
}

/// Docker's legacy plugin discovery: in each directory, in order, a socket `NAME.sock` or `NAME/NAME.sock`
/// first; then spec files `NAME.spec` (a URL) and `NAME.json` (`{"Name","Addr","TLSConfig"}`). The file name
/// without its extension is the plugin's name.
public enum PluginDiscovery {
    /// Names are file names: letters, digits, `.`, `_` and `-`, so no name reaches outside the directories.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
            }
    }

    /// Plugin `name`: the first socket in any directory, else the first spec file.
    public static func find(_ name: String, in dirs: [String]) throws(BerthError) -> PluginEndpoint? {
        guard isValidName(name) else { throw .invalidArgument("invalid plugin name \"\(name)\"") }
        for dir in dirs {
            for path in ["\(dir)/\(name).sock", "\(dir)/\(name)/\(name).sock"] where isSocket(path) {
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
                return PluginEndpoint(name: name, address: try address(addr, in: json), source: json)
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

    /// A spec's URL: `unix:///path` or `tcp://host:port`; TLS endpoints are refused with a clear error.
    static func address(_ text: String, in file: String) throws(BerthError) -> String {
        if text.hasPrefix("unix:///") || text.hasPrefix("tcp://") { return text }
        if text.hasPrefix("https://") || text.hasPrefix("http://") {
            let rest = text.split(separator: "/", maxSplits: 3).dropFirst().first.map(String.init) ?? ""
            if text.hasPrefix("http://") { return "tcp://" + rest }
            throw BerthError(.unsupported, "plugin spec \(file): TLS endpoints (\(text)) are not supported yet")
        }
        throw .invalidArgument("plugin spec \(file): \"\(text)\" is not a unix:// or tcp:// address")
    }
}
