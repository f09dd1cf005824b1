import BerthCore

/// `--filter key=value` flags, as the Engine API's `filters` query parameter wants them.
enum Filters {
    /// Groups `key=value` flags by key (the key lower-cased and trimmed, as `filters.ParseFlag` does).
    static func parse(_ flags: [String]) throws(CLIError) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for flag in flags {
            guard let eq = flag.firstIndex(of: "=") else {
                throw .invalidFlag(flag, "-f, --filter", "bad format of filter (expected name=value)")
            }
            let key = String(flag[..<eq]).trimmingSpaces.lowercased()
            let value = String(flag[flag.index(after: eq)...]).trimmingSpaces
            out[key, default: []].insert(value)
        }
        return out
    }

    /// The CLI's JSON form, `{"status":{"exited":true}}`, keys and values sorted as Go marshals maps.
    static func json(_ filters: [String: Set<String>]) -> String {
        let value: JSONValue = .object(
            filters.keys.sorted().map { key in
                (key, .object(filters[key, default: []].sorted().map { ($0, .bool(true)) }))
            })
        return value.serialized
    }

    /// The `filters` query item, or nothing when there are no filters.
    static func query(_ flags: [String]) throws(CLIError) -> [(String, String)] {
        let parsed = try parse(flags)
        return parsed.isEmpty ? [] : [("filters", json(parsed))]
    }
}
