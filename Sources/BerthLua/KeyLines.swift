/// Where each key of a Lua table constructor is written, so that errors about a decoded value can name its
/// line. A small lexer over the source: it knows comments, short and long strings, and `{ key = ... }` /
/// `{ ["key"] = ... }` fields, and records each field under the path of the constructors around it.
/// Tables built by code (`local t = {}; t.x = 1`) have no recorded path; their keys are then found by name.
public struct KeyLines: Sendable {
    struct Entry: Sendable {
        let path: [String]
        let line: Int
    }
    private var entries: [Entry] = []

    public init(source: String) {
        var lexer = Lexer(Array(source.utf8))
        var tokens = lexer.tokens()
        tokens.append(Token(kind: .other, text: "", line: 0))
        // One frame per open constructor: its path and how many list items it has had.
        var frames: [(path: [String], items: Int)] = []
        var i = 0
        while i < tokens.count - 1 {
            let t = tokens[i]
            let previous = i > 0 ? tokens[i - 1] : Token(kind: .other, text: "", line: 0)
            let startsField = !frames.isEmpty && (previous.text == "{" || previous.text == "," || previous.text == ";")
            if startsField, t.text != "}" {
                let key: String
                var valueIndex = i
                if t.kind == .name, tokens[i + 1].text == "=" {
                    key = t.text
                    valueIndex = i + 2
                } else if t.text == "[", i + 3 < tokens.count, tokens[i + 1].kind == .string, tokens[i + 2].text == "]",
                    tokens[i + 3].text == "="
                {
                    key = tokens[i + 1].text
                    valueIndex = i + 4
                } else {
                    frames[frames.count - 1].items += 1
                    key = "[\(frames[frames.count - 1].items)]"
                }
                let path = frames[frames.count - 1].path + [key]
                entries.append(Entry(path: path, line: t.line))
                if valueIndex < tokens.count - 1, tokens[valueIndex].text == "{" {
                    frames.append((path, 0))
                    i = valueIndex + 1
                } else {
                    i = valueIndex == i ? i + 1 : valueIndex
                }
                continue
            }
            if t.text == "{" {
                frames.append(([], 0))
            } else if t.text == "}" {
                if !frames.isEmpty { frames.removeLast() }
            }
            i += 1
        }
    }

    /// The line of the key at `path` (list items written `[n]`), else of the nearest enclosing key that is
    /// written out, else of the first key with the same name; nil when nothing matches.
    public func line(of path: [String]) -> Int? {
        var path = path
        while !path.isEmpty {
            if let e = entries.first(where: { $0.path == path }) { return e.line }
            if let last = path.last, !last.hasPrefix("["),
                let e = entries.first(where: { $0.path.last == last && $0.path.count <= path.count })
            {
                return e.line
            }
            path.removeLast()
        }
        return nil
    }

    // MARK: - Lexer

    struct Token {
        enum Kind { case name, string, other }
        let kind: Kind
        let text: String
        let line: Int
    }

    struct Lexer {
        let s: [UInt8]
        var i = 0
        var line = 1

        init(_ s: [UInt8]) { self.s = s }

        func peek(_ k: Int = 0) -> UInt8 { i + k < s.count ? s[i + k] : 0 }

        mutating func advance() {
            if s[i] == UInt8(ascii: "\n") { line += 1 }
            i += 1
        }

        /// At `[`: the level of a long bracket `[==[`, or nil.
        func longBracketLevel() -> Int? {
            guard peek() == UInt8(ascii: "[") else { return nil }
            var k = 1
            while peek(k) == UInt8(ascii: "=") { k += 1 }
            return peek(k) == UInt8(ascii: "[") ? k - 1 : nil
        }

        mutating func skipLong(level: Int) -> String {
            for _ in 0..<(level + 2) { advance() }
            let start = i
            while i < s.count {
                if s[i] == UInt8(ascii: "]") {
                    var k = 1
                    while peek(k) == UInt8(ascii: "=") { k += 1 }
                    if k - 1 == level, peek(k) == UInt8(ascii: "]") {
                        let text = String(decoding: s[start..<i], as: UTF8.self)
                        for _ in 0..<(level + 2) { advance() }
                        return text
                    }
                }
                advance()
            }
            return String(decoding: s[start...], as: UTF8.self)
        }

        mutating func tokens() -> [Token] {
            var out: [Token] = []
            while i < s.count {
                let c = s[i]
                let startLine = line
                if c == UInt8(ascii: "-"), peek(1) == UInt8(ascii: "-") {
                    advance()
                    advance()
                    if let level = longBracketLevel() {
                        _ = skipLong(level: level)
                    } else {
                        while i < s.count, s[i] != UInt8(ascii: "\n") { advance() }
                    }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    out.append(Token(kind: .string, text: quoted(), line: startLine))
                } else if c == UInt8(ascii: "["), let level = longBracketLevel() {
                    out.append(Token(kind: .string, text: skipLong(level: level), line: startLine))
                } else if c == UInt8(ascii: "_") || (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") {
                    let start = i
                    while i < s.count, s[i] == UInt8(ascii: "_") || isAlnum(s[i]) { advance() }
                    out.append(Token(kind: .name, text: String(decoding: s[start..<i], as: UTF8.self), line: startLine))
                } else if isAlnum(c) {
                    while i < s.count, isAlnum(s[i]) || s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: "_") {
                        advance()
                    }
                    out.append(Token(kind: .other, text: "0", line: startLine))
                } else if c == UInt8(ascii: "=") || c == UInt8(ascii: "~") || c == UInt8(ascii: "<")
                    || c == UInt8(ascii: ">")
                {
                    advance()
                    if peek() == UInt8(ascii: "=") {
                        advance()
                        out.append(Token(kind: .other, text: "==", line: startLine))
                    } else {
                        out.append(Token(kind: .other, text: String(UnicodeScalar(c)), line: startLine))
                    }
                } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
                    || c == UInt8(ascii: "\n")
                {
                    advance()
                } else {
                    advance()
                    out.append(Token(kind: .other, text: String(UnicodeScalar(c)), line: startLine))
                }
            }
            return out
        }

        func isAlnum(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || ((c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z"))
        }

        /// A short string; escapes are kept as written except `\"`, `\'` and `\\`.
        mutating func quoted() -> String {
            let quote = s[i]
            advance()
            var bytes: [UInt8] = []
            while i < s.count, s[i] != quote, s[i] != UInt8(ascii: "\n") {
                if s[i] == UInt8(ascii: "\\"), i + 1 < s.count {
                    advance()
                }
                bytes.append(s[i])
                advance()
            }
            if i < s.count, s[i] == quote { advance() }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
