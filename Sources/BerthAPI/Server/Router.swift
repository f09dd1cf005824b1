import BerthCore

/// Maps method + path patterns to handlers. Patterns use `{name}` for one segment and `{name*}` for a greedy
/// run of segments (image names contain `/` and `:`), e.g. `/images/{name*}/json`.
public final class Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    struct Route: Sendable {
        let method: String
        let segments: [String]
        let handler: Handler
    }

    private let routes: [Route]

    public init(_ build: (inout RouteTable) -> Void) {
        var table = RouteTable()
        build(&table)
        routes = table.routes
    }

    public struct RouteTable {
        var routes: [Route] = []
        public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
            routes.append(
                Route(method: method, segments: pattern.split(separator: "/").map(String.init), handler: handler))
        }
    }

    /// Finds the handler for `method` and `path`, with the path parameters filled in.
    /// - Returns: nil when no route matches (a 404 "page not found").
    func match(method: String, path: String) -> (Handler, [String: String])? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        for route in routes where route.method == method {
            if let params = Router.match(route.segments[...], parts[...]) { return (route.handler, params) }
        }
        return nil
    }

    static func match(_ pattern: ArraySlice<String>, _ parts: ArraySlice<String>) -> [String: String]? {
        guard let first = pattern.first else { return parts.isEmpty || parts == [""] ? [:] : nil }
        if first.hasPrefix("{"), first.hasSuffix("*}") {
            let name = String(first.dropFirst().dropLast(2))
            let rest = pattern.dropFirst()
            // Greedy: the longest run of segments that still lets the rest match.
            var n = parts.count - rest.count
            while n >= 1 {
                if let tail = match(rest, parts.dropFirst(n)) {
                    var params = tail
                    params[name] = parts.prefix(n).joined(separator: "/").removingPercentEncoding
                    return params
                }
                n -= 1
            }
            return nil
        }
        guard let part = parts.first else { return nil }
        if first.hasPrefix("{"), first.hasSuffix("}") {
            guard !part.isEmpty, var params = match(pattern.dropFirst(), parts.dropFirst()) else { return nil }
            params[String(first.dropFirst().dropLast())] = part.removingPercentEncoding
            return params
        }
        guard first == part else { return nil }
        return match(pattern.dropFirst(), parts.dropFirst())
    }
}
