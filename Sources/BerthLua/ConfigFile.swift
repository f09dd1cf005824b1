import BerthCore
import BerthOS

/// `config.lua`: evaluated once in the sandbox, its returned table decoded into an `EngineConfiguration`.
/// Every error names the file, the line and the key.
public enum ConfigFile {
    /// The drivers a configuration may name, offered in "did you mean" and "available" hints.
    public struct Choices: Sendable {
        public var storageDrivers: [String]
        public var networks: [String]
        public init(storageDrivers: [String], networks: [String]) {
            self.storageDrivers = storageDrivers
            self.networks = networks
        }
    }

    /// Reads and decodes the file at `path`.
    public static func load(path: String, choices: Choices) throws(BerthError) -> EngineConfiguration {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readFile(path) } catch {
            throw BerthError(error.code, "config file \(path): \(error.message)")
        }
        return try decode(source: String(decoding: bytes, as: UTF8.self), file: path, choices: choices)
    }

    /// Evaluates `source` (named `file` in messages) and decodes its result.
    public static func decode(source: String, file: String, choices: Choices) throws(BerthError)
        -> EngineConfiguration
    {
        let table = try evaluate(source: source, file: file)
        let decoder = Decoder(file: file, lines: KeyLines(source: source), choices: choices)
        return try decoder.decode(table)
    }

    /// Runs a configuration file in the sandbox (16 MiB, 10 million instructions, 2 s) and returns the one
    /// value it returns; errors name the file (and the line, for Lua's own errors).
    public static func evaluate(source: String, file: String) throws(BerthError) -> JSONValue {
        let results: [JSONValue]
        do {
            let vm = try LuaVM(memoryLimit: 16 << 20)
            results = try vm.run(
                source, chunkName: "=" + file, limit: LuaLimits(instructions: 10_000_000, timeoutMilliseconds: 2000))
        } catch {
            throw BerthError(.invalidArgument, error.message)
        }
        guard let value = results.first, results.count == 1 else {
            throw BerthError(.invalidArgument, "\(file): the file must return one table (return { ... })")
        }
        return value
    }

    /// Whether `name` is a plugin the settings name: a program in `run`, or something in a plugin directory by
    /// that name (a socket, `NAME/NAME.sock`, a spec or JSON file). A storage driver that is not built in must be one.
    public static func hasPlugin(_ name: String, _ plugins: EngineConfiguration.Plugins) -> Bool {
        if plugins.run[name] != nil { return true }
        guard EngineConfiguration.Plugins.isValidName(name) else { return false }
        return plugins.dirs.contains { dir in
            let (sockets, specs) = EngineConfiguration.Plugins.candidatePaths(name, in: dir)
            return (sockets + specs).contains(where: FileSystem.exists)
        }
    }

    /// "did you mean": the closest candidate within a third of the word's length (at least 1, at most 3 edits).
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let limit = max(1, min(3, word.count / 3))
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions
    /// ("storgae" is one edit from "storage").
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    struct Decoder {
        let file: String
        let lines: KeyLines
        let choices: Choices

        func fail(_ path: [String], _ message: String) -> BerthError {
            let key = path.reduce("") { acc, c in c.hasPrefix("[") ? acc + c : (acc.isEmpty ? c : acc + "." + c) }
            let place = lines.line(of: path).map { "\(file):\($0)" } ?? file
            return BerthError(.invalidArgument, key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)")
        }

        func typeName(_ v: JSONValue) -> String {
            switch v {
            case .null: return "nil"
            case .bool: return "boolean"
            case .integer, .number: return "number"
            case .string: return "string"
            case .array: return "list"
            case .object: return "table"
            }
        }

        /// The members of a record, refusing keys outside `allowed` with a suggestion.
        func record(_ v: JSONValue, _ path: [String], allowed: [String]) throws(BerthError) -> [(String, JSONValue)] {
            guard case .object(let members) = v else {
                if case .array(let items) = v, items.isEmpty { return [] }
                throw fail(path, "expected a table, got a \(typeName(v))")
            }
            for (key, _) in members where !allowed.contains(key) {
                var message = "unknown key \"\(key)\""
                if let s = ConfigFile.suggestion(for: key, among: allowed) { message += " (did you mean \"\(s)\"?)" }
                throw fail(path + [key], message + "; known keys: " + allowed.joined(separator: ", "))
            }
            return members
        }

        func string(_ v: JSONValue, _ path: [String]) throws(BerthError) -> String {
            guard case .string(let s) = v else { throw fail(path, "expected a string, got a \(typeName(v))") }
            return s
        }

        func bool(_ v: JSONValue, _ path: [String]) throws(BerthError) -> Bool {
            guard case .bool(let b) = v else { throw fail(path, "expected true or false, got a \(typeName(v))") }
            return b
        }

        func integer(_ v: JSONValue, _ path: [String], in range: ClosedRange<Int64>) throws(BerthError) -> Int64 {
            guard let n = v.int64Value else {
                if case .number = v { throw fail(path, "expected a whole number") }
                throw fail(path, "expected a number, got a \(typeName(v))")
            }
            guard range.contains(n) else {
                throw fail(path, "\(n) is out of range (\(range.lowerBound)...\(range.upperBound))")
            }
            return n
        }

        func strings(_ v: JSONValue, _ path: [String]) throws(BerthError) -> [String] {
            if case .object(let m) = v, m.isEmpty { return [] }
            guard case .array(let items) = v else {
                throw fail(path, "expected a list of strings, got a \(typeName(v))")
            }
            var out: [String] = []
            for (i, item) in items.enumerated() { out.append(try string(item, path + ["[\(i + 1)]"])) }
            return out
        }

        func choice(_ value: String, _ path: [String], among: [String], what: String) throws(BerthError) -> String {
            guard among.contains(value) else {
                var message = "unknown \(what) \"\(value)\""
                if let s = ConfigFile.suggestion(for: value, among: among) { message += " (did you mean \"\(s)\"?)" }
                throw fail(path, message + "; available: " + among.joined(separator: ", "))
            }
            return value
        }

        func decode(_ table: JSONValue) throws(BerthError) -> EngineConfiguration {
            var c = EngineConfiguration()
            let top = [
                "root", "exec_root", "hosts", "log_level", "cgroups", "storage", "network", "hooks", "plugins",
                "registry",
            ]
            for (key, v) in try record(table, [], allowed: top) {
                let p = [key]
                switch key {
                case "root": c.root = try absolutePath(v, p)
                case "exec_root": c.execRoot = try absolutePath(v, p)
                case "hosts":
                    c.hosts = try strings(v, p)
                    for (i, h) in c.hosts.enumerated() where !(h.hasPrefix("unix://") || h.hasPrefix("tcp://")) {
                        throw fail(p + ["[\(i + 1)]"], "invalid host \"\(h)\": expected unix://PATH or tcp://ADDR:PORT")
                    }
                case "log_level":
                    c.logLevel = try choice(
                        try string(v, p), p, among: EngineConfiguration.logLevels, what: "log level")
                case "cgroups":
                    for (k, x) in try record(v, p, allowed: ["favordynmods"]) {
                        c.cgroupFavorDynmods = try bool(x, p + [k])
                    }
                case "storage":
                    for (k, x) in try record(v, p, allowed: ["driver", "background_cleanup"]) {
                        switch k {
                        case "driver":
                            // Not a built-in driver: a storage plugin's name, checked below (when `plugins` is known).
                            c.storage.driver = try string(x, p + [k])
                        default: c.storage.backgroundCleanup = try bool(x, p + [k])
                        }
                    }
                case "network":
                    for (k, x) in try record(
                        v, p, allowed: ["default", "bridge", "dns_upstream", "nft_table", "pools"])
                    {
                        if k == "pools" {
                            c.network.pools = try pools(x, p + [k])
                            continue
                        }
                        if k == "nft_table" {
                            let t = try string(x, p + [k])
                            guard !t.isEmpty, t.count <= 32, t.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
                            else { throw fail(p + [k], "\"\(t)\" is not a valid table name (letters, digits, _)") }
                            c.network.nftTable = t
                            continue
                        }
                        if k == "dns_upstream" {
                            if case .string("host") = x {
                                c.network.dnsUpstream = nil
                                continue
                            }
                            let servers = try strings(x, p + [k])
                            for (i, s) in servers.enumerated() {
                                let parts = s.split(separator: ":", omittingEmptySubsequences: false)
                                guard parts.count <= 2, IPv4Address(parts[0]) != nil,
                                    parts.count == 1 || UInt16(parts[1]).map({ $0 > 0 }) == true
                                else {
                                    throw fail(
                                        p + [k, "[\(i + 1)]"],
                                        "\"\(s)\" is not an IPv4 address (with an optional :port)")
                                }
                            }
                            c.network.dnsUpstream = servers
                            continue
                        }
                        if k == "default" {
                            c.network.defaultNetwork = try choice(
                                try string(x, p + [k]), p + [k], among: choices.networks, what: "network")
                            continue
                        }
                        for (bk, bx) in try record(x, p + [k], allowed: ["name"]) {
                            let name = try string(bx, p + [k, bk])
                            guard (1...15).contains(name.utf8.count), !name.contains("/"), !name.contains(" "),
                                name != ".", name != ".."
                            else {
                                throw fail(p + [k, bk], "\"\(name)\" is not a valid interface name (1-15 characters)")
                            }
                            c.network.bridgeName = name
                        }
                    }
                case "hooks": c.hooks = try hooks(v, p)
                case "registry":
                    for (k, x) in try record(v, p, allowed: ["insecure", "certs_dir", "max_concurrent_downloads"]) {
                        switch k {
                        case "insecure": c.registry.insecure = try strings(x, p + [k])
                        case "certs_dir": c.registry.certsDir = try absolutePath(x, p + [k])
                        default: c.registry.maxConcurrentDownloads = try integer(x, p + [k], in: 1...32)
                        }
                    }
                default:
                    for (k, x) in try record(v, p, allowed: ["dirs", "timeout", "run"]) {
                        if k == "timeout" {
                            c.plugins.timeoutSeconds = try integer(x, p + [k], in: 1...600)
                            continue
                        }
                        if k == "run" {
                            guard case .object(let programs) = x else {
                                throw fail(p + [k], "expected { NAME = { \"/path/to/program\", \"arg\", ... } }")
                            }
                            for (name, argv) in programs {
                                let args = try strings(argv, p + [k, name])
                                guard let first = args.first, first.hasPrefix("/") else {
                                    throw fail(p + [k, name], "the program must be an absolute path")
                                }
                                c.plugins.run[name] = args
                            }
                            continue
                        }
                        c.plugins.dirs = try strings(x, p + [k])
                        for (i, d) in c.plugins.dirs.enumerated() where !d.hasPrefix("/") {
                            throw fail(p + [k, "[\(i + 1)]"], "\"\(d)\" is not an absolute path")
                        }
                    }
                }
            }
            let storage = c.storage.driver
            if !choices.storageDrivers.contains(storage), !ConfigFile.hasPlugin(storage, c.plugins) {
                _ = try choice(storage, ["storage", "driver"], among: choices.storageDrivers, what: "storage driver")
            }
            return c
        }

        /// `{ { base = "172.17.0.0/16", size = 16 }, ... }`.
        func pools(_ v: JSONValue, _ path: [String]) throws(BerthError) -> [SubnetAllocator.Pool] {
            if case .object(let m) = v, m.isEmpty { throw fail(path, "at least one pool is needed") }
            guard case .array(let items) = v, !items.isEmpty else {
                throw fail(path, "expected a list of { base = \"a.b.c.d/n\", size = n }")
            }
            var out: [SubnetAllocator.Pool] = []
            for (i, item) in items.enumerated() {
                let ip = path + ["[\(i + 1)]"]
                var base: IPv4Subnet?
                var size: Int?
                for (k, x) in try record(item, ip, allowed: ["base", "size"]) {
                    if k == "base" {
                        let text = try string(x, ip + [k])
                        guard let s = IPv4Subnet(text, strict: true) else {
                            throw fail(ip + [k], "\"\(text)\" is not a network such as 172.30.0.0/16")
                        }
                        base = s
                    } else {
                        size = Int(try integer(x, ip + [k], in: 8...30))
                    }
                }
                guard let base, let size else { throw fail(ip, "a pool needs base and size") }
                guard size >= base.prefixLength else {
                    throw fail(ip + ["size"], "size /\(size) is larger than the base /\(base.prefixLength)")
                }
                out.append(SubnetAllocator.Pool(base: base, size: size))
            }
            return out
        }

        func absolutePath(_ v: JSONValue, _ path: [String]) throws(BerthError) -> String {
            let s = try string(v, path)
            guard s.hasPrefix("/") else { throw fail(path, "\"\(s)\" is not an absolute path") }
            return s
        }

        func hooks(_ v: JSONValue, _ p: [String]) throws(BerthError) -> EngineConfiguration.Hooks {
            var h = EngineConfiguration.Hooks()
            let allowed = ["dir", "timeout_ms", "instruction_limit", "memory_limit_mb", "scripts"]
            for (k, x) in try record(v, p, allowed: allowed) {
                switch k {
                case "dir": h.dir = try absolutePath(x, p + [k])
                case "timeout_ms": h.timeoutMilliseconds = try integer(x, p + [k], in: 1...600_000)
                case "instruction_limit": h.instructionLimit = try integer(x, p + [k], in: 1000...100_000_000_000)
                case "memory_limit_mb": h.memoryLimitMiB = try integer(x, p + [k], in: 1...4096)
                default:
                    for (name, grants) in try record(x, p + [k], allowed: (x.objectMembers.map(\.0))) {
                        guard name.hasSuffix(".lua"), !name.contains("/") else {
                            throw fail(p + [k, name], "expected a script file name such as \"audit.lua\"")
                        }
                        var g = EngineConfiguration.ScriptPermissions()
                        for (gk, gv) in try record(grants, p + [k, name], allowed: ["io", "exec"]) {
                            if gk == "io" {
                                g.io = try bool(gv, p + [k, name, gk])
                            } else {
                                g.exec = try bool(gv, p + [k, name, gk])
                            }
                        }
                        h.scripts[name] = g
                    }
                }
            }
            return h
        }
    }
}
