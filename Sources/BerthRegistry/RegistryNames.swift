/// The grammar of the distribution spec for repository names, tags and digests. Only names that pass these
/// checks ever become paths under the registry's root, so no request can reach outside it.
public enum RegistryNames {
    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 characters.
    public static func isValidRepository(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard isValidComponent(Array(component.utf8)) else { return false }
        }
        return true
    }

    /// One path component: alphanumeric runs joined by `.`, `_`, `__` or any number of `-`.
    static func isValidComponent(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else {
            return false
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if isLowerAlnum(b) {
                i += 1
                continue
            }
            // A separator: ".", "_", "__" or "-+", always followed by an alphanumeric.
            var j = i
            switch b {
            case UInt8(ascii: "."): j += 1
            case UInt8(ascii: "_"): j += bytes.count > i + 1 && bytes[i + 1] == UInt8(ascii: "_") ? 2 : 1
            case UInt8(ascii: "-"): while j < bytes.count, bytes[j] == UInt8(ascii: "-") { j += 1 }
            default: return false
            }
            guard j < bytes.count, isLowerAlnum(bytes[j]) else { return false }
            i = j
        }
        return true
    }

    /// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        let b = Array(tag.utf8)
        guard let first = b.first, b.count <= 128, isAlnum(first) || first == UInt8(ascii: "_") else { return false }
        return b.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// The hex part of a `sha256:` digest with 64 lower-case hex digits, else nil.
    public static func sha256Hex(_ digest: String) -> String? {
        guard digest.hasPrefix("sha256:") else { return nil }
        let hex = digest.dropFirst(7)
        guard hex.utf8.count == 64,
            hex.utf8.allSatisfy({
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            })
        else { return nil }
        return String(hex)
    }

    /// Whether `reference` looks like a digest (`algorithm:encoded`) rather than a tag.
    public static func isDigestLike(_ reference: String) -> Bool { reference.contains(":") }

    static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    static func isAlnum(_ b: UInt8) -> Bool { isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) }
}
