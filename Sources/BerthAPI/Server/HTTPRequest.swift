import BerthCore

/// One API request after routing: path parameters, query, headers and the whole body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the `/vX.Y` prefix.
    public var path: String
    /// The version from the path, or the daemon's maximum for a bare path.
    public var apiVersion: APIVersion
    public var query: [String: [String]]
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var params: [String: String] = [:]

    public init(
        method: String, path: String, apiVersion: APIVersion, query: [String: [String]], headers: [(String, String)],
        body: [UInt8]
    ) {
        self.method = method
        self.path = path
        self.apiVersion = apiVersion
        self.query = query
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func param(_ name: String) -> String { params[name] ?? "" }

    public func query(_ name: String) -> String? { query[name]?.last }

    /// moby's rule: "", 0, no, false, none (any case) are false; any other value is true; absent is `default`.
    public func bool(_ name: String, default value: Bool = false) -> Bool {
        guard let v = query(name) else { return value }
        return !["", "0", "no", "false", "none"].contains(v.lowercased())
    }

    public func int(_ name: String) throws(BerthError) -> Int? {
        guard let v = query(name), !v.isEmpty else { return nil }
        guard let n = Int(v) else { throw .invalidArgument("invalid value for \(name): \(v)") }
        return n
    }

    /// The `filters` query parameter: `{"k":{"v":true}}` (CLI) or `{"k":["v"]}` (docker-py).
    public func filters() throws(BerthError) -> [String: [String]] {
        guard let text = query("filters"), !text.isEmpty else { return [:] }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw .invalidArgument("invalid filter: \(text)") }
        guard case .object(let members) = json else { throw .invalidArgument("invalid filter: \(text)") }
        var out: [String: [String]] = [:]
        for (key, value) in members {
            switch value {
            case .object(let m): out[key] = m.filter { $0.1 != .bool(false) }.map(\.0)
            case .array(let a): out[key] = a.compactMap(\.stringValue)
            case .string(let s): out[key] = [s]
            default: throw .invalidArgument("invalid filter '\(key)'")
            }
        }
        return out
    }
}
