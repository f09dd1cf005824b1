import BerthCore

/// Flag value parsers, each worded like the docker CLI's (`opts` and `go-units`). They throw the bare reason;
/// `createRequest` adds the flag name.
extension ContainerOptions {
    /// `--cpus 1.5` → 1_500_000_000 NanoCpus (`opts.NanoCPUs`: exact decimals only).
    static func parseNanoCPUs(_ text: String) throws(CLIError) -> Int64 {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), whole.allSatisfy(\.isASCIIDigit),
            fraction.allSatisfy(\.isASCIIDigit),
            whole.count < 10
        else { throw CLIError("failed to parse \(text) as a rational number") }
        let significant = fraction.reversed().drop { $0 == "0" }.reversed()
        guard significant.count <= 9 else { throw CLIError("value is too precise") }
        let digits = String(significant) + String(repeating: "0", count: 9 - significant.count)
        let nanos = (Int64(whole) ?? 0) * 1_000_000_000 + (Int64(digits) ?? 0)
        return negative ? -nanos : nanos
    }

    static let ulimitNames: Set<String> = [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
        "rttime", "sigpending", "stack",
    ]

    /// `--ulimit nofile=1024[:2048]` → `{"Name":"nofile","Hard":2048,"Soft":1024}` (`units.ParseUlimit`).
    static func parseUlimit(_ text: String) throws(CLIError) -> JSONValue {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw CLIError("invalid ulimit argument: \(text)") }
        guard ulimitNames.contains(parts[0]) else { throw CLIError("invalid ulimit type: \(parts[0])") }
        let values = parts[1].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let soft = Int64(values[0]) else { throw CLIError("invalid ulimit soft value \(values[0])") }
        var hard = soft
        if values.count == 2 {
            guard let h = Int64(values[1]) else { throw CLIError("invalid ulimit hard value \(values[1])") }
            hard = h
        }
        if hard != -1, soft > hard {
            throw CLIError("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
        return .object([("Name", .string(parts[0])), ("Hard", .int(hard)), ("Soft", .int(soft))])
    }

    /// An env file: `KEY=value` lines, `#` comments and blank lines skipped, leading space trimmed, a bare `KEY`
    /// taken from the environment or dropped (`kvfile.Parse`).
    static func parseEnvFile(_ bytes: [UInt8], lookupEnv: (String) -> String?) throws(CLIError) -> [String] {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var out: [String] = []
        // Lines end at "\n" with an optional "\r" before it; Swift keeps "\r\n" as one Character.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(raw)
            line = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0B}" || $0 == "\u{0C}" || $0 == "\r" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let variable = String(parts[0])
            if variable.isEmpty { throw CLIError("no variable name on line '\(line)'") }
            if variable.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\u{0B}" || $0 == "\u{0C}" }) {
                throw CLIError("variable '\(variable)' contains whitespaces")
            }
            if parts.count == 2 {
                out.append("\(variable)=\(parts[1])")
            } else if let value = lookupEnv(variable) {
                out.append("\(variable)=\(value)")
            }
        }
        return out
    }

    /// `--security-opt` values; `seccomp=PATH` becomes `seccomp=<the file's JSON, compacted>` as the docker CLI
    /// sends it (`unconfined` and `builtin` are names, not paths).
    static func securityOptions(_ options: [String], readFile: (String) throws(CLIError) -> [UInt8]) throws(CLIError)
        -> [String]
    {
        var out: [String] = []
        for opt in options {
            var key = opt
            var value = ""
            var hasValue = false
            if let eq = opt.firstIndex(of: "=") {
                key = String(opt[..<eq])
                value = String(opt[opt.index(after: eq)...])
                hasValue = true
            } else if opt != "no-new-privileges", let colon = opt.firstIndex(of: ":") {
                key = String(opt[..<colon])
                value = String(opt[opt.index(after: colon)...])
                hasValue = true
            }
            if (!hasValue || value.isEmpty), key != "no-new-privileges" {
                throw CLIError("Invalid --security-opt: \"\(opt)\"")
            }
            guard key == "seccomp", value != "unconfined", value != "builtin" else {
                out.append(opt)
                continue
            }
            let bytes: [UInt8]
            do { bytes = try readFile(value) } catch {
                throw CLIError("opening seccomp profile (\(value)) failed: \(error.message)")
            }
            do { _ = try JSONValue.parse(bytes: bytes) } catch {
                throw CLIError("compacting json for seccomp profile (\(value)) failed: \(error.message)")
            }
            out.append("seccomp=" + String(decoding: JSONText.compact(bytes), as: UTF8.self))
        }
        return out
    }

    /// `--restart no|always|unless-stopped|on-failure[:N]` → `RestartPolicy`.
    static func restartPolicy(_ text: String) throws(CLIError) -> JSONValue {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0].isEmpty ? "no" : parts[0]
        var retries = 0
        if parts.count == 2 {
            guard name == "on-failure" else {
                throw CLIError("invalid restart policy format: maximum retry count can only be used with 'on-failure'")
            }
            guard let n = Int(parts[1]), n >= 0 else {
                throw CLIError("invalid restart policy format: maximum retry count must be an integer")
            }
            retries = n
        }
        guard ["no", "always", "unless-stopped", "on-failure"].contains(name) else {
            throw CLIError("invalid restart policy '\(name)'")
        }
        return .object([("Name", .string(name)), ("MaximumRetryCount", .int(retries))])
    }

    /// `net_admin` → `CAP_NET_ADMIN`, duplicates dropped, `ALL` kept (`opts.normalizeCapabilities`).
    static func normalizeCapabilities(_ caps: [String]) -> [String] {
        var out: [String] = []
        for c in caps {
            var cap = c.trimmingSpaces.uppercased()
            if cap != "ALL", !cap.hasPrefix("CAP_") { cap = "CAP_" + cap }
            if !out.contains(cap) { out.append(cap) }
        }
        return out
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
