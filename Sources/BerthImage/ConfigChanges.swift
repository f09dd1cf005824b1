import BerthCore

/// Applies Dockerfile-style `--change` lines (`CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`, …) to an image's
/// container config, as `docker import -c` and `docker commit -c` do.
public enum ConfigChanges {
    public static let supported = [
        "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    public static func apply(_ line: String, to config: inout JSONValue) throws(BerthError) {
        let trimmed = line.trimmingSpaces
        guard !trimmed.isEmpty else { return }
        let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? trimmed.endIndex
        let instruction = trimmed[..<space].uppercased()
        let rest = String(trimmed[space...]).trimmingSpaces
        guard supported.contains(instruction) else {
            throw .invalidArgument("\(instruction) is not a valid change command")
        }
        switch instruction {
        case "CMD": config["Cmd"] = .strings(try commandForm(rest))
        case "ENTRYPOINT": config["Entrypoint"] = .strings(try commandForm(rest))
        case "WORKDIR": config["WorkingDir"] = .string(rest)
        case "USER": config["User"] = .string(rest)
        case "STOPSIGNAL": config["StopSignal"] = .string(rest)
        case "ENV":
            var env = config["Env"]?.stringArray ?? []
            for (k, v) in try pairs(rest, instruction: "ENV") {
                env.removeAll { $0.hasPrefix(k + "=") }
                env.append("\(k)=\(v)")
            }
            config["Env"] = .strings(env)
        case "LABEL":
            var labels = config["Labels"] ?? .object([])
            for (k, v) in try pairs(rest, instruction: "LABEL") { labels[k] = .string(v) }
            config["Labels"] = labels
        case "EXPOSE":
            var ports = config["ExposedPorts"] ?? .object([])
            for p in rest.split(separator: " ") {
                ports[p.contains("/") ? String(p) : "\(p)/tcp"] = .object([])
            }
            config["ExposedPorts"] = ports
        case "VOLUME":
            var vols = config["Volumes"] ?? .object([])
            let list = rest.hasPrefix("[") ? try commandForm(rest) : rest.split(separator: " ").map(String.init)
            for v in list { vols[v] = .object([]) }
            config["Volumes"] = vols
        default:
            var onbuild = config["OnBuild"]?.stringArray ?? []
            onbuild.append(rest)
            config["OnBuild"] = .strings(onbuild)
        }
    }

    /// `["a","b"]` (exec form) or `a b` (shell form, run by `/bin/sh -c`).
    static func commandForm(_ text: String) throws(BerthError) -> [String] {
        if text.hasPrefix("["), let json = try? JSONValue.parse(text), let a = json.stringArray {
            return a
        }
        return ["/bin/sh", "-c", text]
    }

    /// `K=V K2="V 2"` or the legacy `K V` form.
    static func pairs(_ text: String, instruction: String) throws(BerthError) -> [(String, String)] {
        if !text.contains("=") {
            let parts = text.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw .invalidArgument("\(instruction) requires at least one argument") }
            return [(String(parts[0]), String(parts[1]).trimmingSpaces)]
        }
        var result: [(String, String)] = []
        var current = ""
        var quote: Character? = nil
        var words: [String] = []
        for ch in text {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == " " {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { words.append(current) }
        for w in words {
            // `=value` has a blank name, which Docker's parser refuses as well.
            guard let eq = w.firstIndex(of: "="), eq != w.startIndex else {
                throw .invalidArgument("\(instruction) names can not be blank: \(w)")
            }
            result.append((String(w[..<eq]), String(w[w.index(after: eq)...])))
        }
        return result
    }
}
