/// 64-hex-digit random IDs for containers, layers and endpoints, like Docker's.
public enum Identifier {
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<4 {
            let v = g.next() as UInt64
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
        }
        return SHA256.hex(bytes)
    }

    /// Whether `s` is a valid container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (Docker's rule).
    public static func isValidName(_ s: String) -> Bool {
        let chars = Array(s.utf8)
        guard chars.count >= 2, let first = chars.first else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
        }
        guard alnum(first) else { return false }
        return chars.dropFirst().allSatisfy {
            alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }
}
