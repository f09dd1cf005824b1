/// Small helpers over Unicode scalars shared by the Dockerfile parser, the shell lexer and the ignore matcher.
///
/// Docker's parser works on Go runes (Unicode scalars), not on grapheme clusters: Swift's `Character` would merge
/// `"\r\n"` or a letter with a combining mark into one element, so everything here works on `Unicode.Scalar`.
package typealias Scalars = [Unicode.Scalar]

extension Unicode.Scalar {
    /// Go's `unicode.IsSpace`: the Unicode White_Space property (tab, newline, vertical tab, form feed, carriage
    /// return, space, U+0085, U+00A0 and the other space separators).
    package var isSpace: Bool { properties.isWhitespace }

    /// The characters of the parser's `[\t\v\f\r ]` class, which separates an instruction from its arguments.
    package var isLineSpace: Bool {
        switch value {
        case 0x09, 0x0B, 0x0C, 0x0D, 0x20: return true
        default: return false
        }
    }

    package var isASCIIDigit: Bool { value >= 0x30 && value <= 0x39 }

    package var isASCIILetter: Bool { (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) }
}

extension String {
    /// A string made of `scalars`.
    package init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self.init(view)
    }

    package var scalars: Scalars { Array(unicodeScalars) }

    /// Go's `strings.TrimSpace`.
    package var trimmingSpace: String { String(scalars: TextScan.trimSpace(scalars)) }

    /// The text as a Go `%q` verb prints it: double-quoted, with `"` and `\` and control characters escaped.
    package var goQuoted: String {
        var out = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Namespace for the scalar-array helpers.
package enum TextScan {
    /// `s` without leading and trailing white space.
    package static func trimSpace(_ s: Scalars) -> Scalars {
        guard let first = s.firstIndex(where: { !$0.isSpace }) else { return [] }
        let last = s.lastIndex(where: { !$0.isSpace }) ?? first
        return Array(s[first...last])
    }

    /// `s` without leading white space.
    package static func trimLeadingSpace(_ s: Scalars) -> Scalars {
        guard let first = s.firstIndex(where: { !$0.isSpace }) else { return [] }
        return Array(s[first...])
    }

    /// Splits `s` at runs of `[\t\v\f\r ]`, like Go's `reWhitespace.Split(s, limit)`; with a limit of 2 the second
    /// part is the rest of the text, untouched. `s` is expected to be trimmed already.
    package static func splitLineSpace(_ s: Scalars, limit: Int = Int.max) -> [Scalars] {
        var parts: [Scalars] = []
        var current: Scalars = []
        var i = 0
        while i < s.count {
            if s[i].isLineSpace, parts.count < limit - 1 {
                parts.append(current)
                current = []
                while i < s.count, s[i].isLineSpace { i += 1 }
                continue
            }
            current.append(s[i])
            i += 1
        }
        parts.append(current)
        return parts
    }

    /// The index of the first occurrence of `needle` in `s` at or after `from`, or nil.
    package static func find(_ needle: Scalars, in s: Scalars, from: Int = 0) -> Int? {
        guard !needle.isEmpty, s.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= s.count {
            if s[i] == needle[0], Array(s[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}
