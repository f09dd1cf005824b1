import BerthCore

/// Small text helpers shared by the list commands.
enum TextFormat {
    /// docker/cli `formatter.Ellipsis`: at most `width` characters, the last one `…` when cut.
    static func ellipsis(_ s: String, _ width: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        guard width > 0 else { return "" }
        if scalars.count <= width { return s }
        if width == 1 { return String(Character(scalars[0])) }
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars[0..<(width - 1)])
        return out + "…"
    }

    /// Go's `strconv.Quote` for printable text.
    static func quote(_ s: String) -> String {
        var out = ""
        JSONValue.writeString(s, to: &out)
        return out
    }

    /// `stringid.TruncateID`: the ID without `sha256:`, 12 characters.
    static func shortID(_ id: String) -> String {
        var s = Substring(id)
        if let colon = s.firstIndex(of: ":") { s = s[s.index(after: colon)...] }
        return String(s.prefix(12))
    }
}
