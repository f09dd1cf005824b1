import BerthCore

/// `--security-opt` values: `seccomp=unconfined`, `seccomp=<profile JSON>` (the docker CLI sends the file's
/// contents), `no-new-privileges[=true|false]` (or `:true`), and the label/apparmor options Berth accepts
/// and ignores (no LSM support yet).
enum SecurityOptions {
    enum Option {
        case seccompUnconfined
        case seccompProfile(SeccompProfile)
        case noNewPrivileges(Bool)
        case ignored
    }

    static func parse(_ text: String) throws(BerthError) -> Option {
        if text == "no-new-privileges" { return .noNewPrivileges(true) }
        let sep = text.firstIndex(where: { $0 == "=" || $0 == ":" })
        guard let sep else { throw .invalidArgument("Invalid --security-opt: \(text)") }
        let key = String(text[..<sep])
        let value = String(text[text.index(after: sep)...])
        switch key {
        case "seccomp":
            if value == "unconfined" { return .seccompUnconfined }
            let json: JSONValue
            do { json = try JSONValue.parse(value) } catch {
                throw .invalidArgument("Decoding seccomp profile failed: \(error.message)")
            }
            do { return .seccompProfile(try SeccompProfile(json: json)) } catch {
                throw .invalidArgument("Decoding seccomp profile failed: \(error.message)")
            }
        case "no-new-privileges":
            switch value {
            case "true", "": return .noNewPrivileges(true)
            case "false": return .noNewPrivileges(false)
            default: throw .invalidArgument("Invalid --security-opt 2: \(text)")
            }
        case "label", "apparmor", "systempaths", "mask", "unmask":
            return .ignored
        default:
            throw .invalidArgument("Invalid --security-opt 2: \(text)")
        }
    }
}
