/// Standard base64 (RFC 4648, with padding), as Go's `base64.StdEncoding` (the container path stat header of
/// the archive API, registry credentials).
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Base64url (`-` and `_`, padding optional, as Go's `URLEncoding` and `RawURLEncoding` write it).
    public static func decodeURLSafe(_ text: String) -> [UInt8]? {
        var s = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while s.utf8.count % 4 != 0 { s += "=" }
        return decode(s)
    }

    /// nil for anything that is not padded standard base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(v))
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            let n =
                UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12
                | (i + 2 < values.count ? UInt32(values[i + 2]) << 6 : 0)
                | (i + 3 < values.count ? UInt32(values[i + 3]) : 0)
            out.append(UInt8(n >> 16 & 0xff))
            if i + 2 < values.count { out.append(UInt8(n >> 8 & 0xff)) }
            if i + 3 < values.count { out.append(UInt8(n & 0xff)) }
            i += 4
        }
        return out
    }
}
