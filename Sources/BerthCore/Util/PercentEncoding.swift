/// URL decoding for paths and queries (the Engine API's and the registry's).
extension String {
    /// Decodes `%XX` escapes (and leaves malformed ones as they are).
    public var removingPercentEncoding: String {
        guard contains("%") || contains("+") else { return self }
        var out: [UInt8] = []
        let b = Array(utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count,
                let v = UInt8(String(decoding: b[i + 1...i + 2], as: UTF8.self), radix: 16)
            {
                out.append(v)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a query component: `+` is a space, then `%XX`.
    public var removingQueryEncoding: String {
        String(map { $0 == "+" ? " " : $0 }).removingPercentEncoding
    }
}
