/// Reformats JSON text byte by byte, keeping strings and numbers exactly as the daemon wrote them.
enum JSONText {
    /// Go's `json.Indent(dst, src, "", indent)`: one member per line, `": "` after keys, `[]`/`{}` kept short.
    static func indent(_ src: [UInt8], indent: String = "    ") -> String {
        var out: [UInt8] = []
        out.reserveCapacity(src.count * 2)
        let unit = Array(indent.utf8)
        var depth = 0
        var inString = false
        var escaped = false
        var needNewline = false  // just opened a container; the newline waits to see if it is empty
        func newline() {
            out.append(10)
            for _ in 0..<depth { out.append(contentsOf: unit) }
        }
        for c in src {
            if inString {
                out.append(c)
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            if c == 32 || c == 9 || c == 10 || c == 13 { continue }
            if needNewline {
                needNewline = false
                guard c != UInt8(ascii: "]"), c != UInt8(ascii: "}") else {
                    out.append(c)
                    continue
                }
                depth += 1
                newline()
            }
            switch c {
            case UInt8(ascii: "\""):
                inString = true
                out.append(c)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                out.append(c)
                needNewline = true
            case UInt8(ascii: ","):
                out.append(c)
                newline()
            case UInt8(ascii: ":"):
                out.append(c)
                out.append(32)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                newline()
                out.append(c)
            default:
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's `json.Compact`: whitespace outside strings removed.
    static func compact(_ src: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(src.count)
        var inString = false
        var escaped = false
        for c in src {
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                out.append(c)
                continue
            }
            if c == 32 || c == 9 || c == 10 || c == 13 { continue }
            if c == UInt8(ascii: "\"") { inString = true }
            out.append(c)
        }
        return out
    }
}
