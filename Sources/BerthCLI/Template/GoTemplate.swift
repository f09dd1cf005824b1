import BerthCore

/// The subset of Go's `text/template` that `--format` flags use, evaluated over `JSONValue` data.
///
/// Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming; fields (`.`, `.A.B`, `$`, `$x.A`);
/// string, number, `true`/`false`/`nil` literals; pipelines (`.X | json`) and parenthesised calls;
/// `{{$x := …}}`; `if`/`else if`/`else`, `range` (with `$i, $v :=` and `else`), `with`, `end`; and the
/// functions Docker adds (`json`, `join`, `split`, `lower`, `upper`, `title`, `pad`, `truncate`) plus Go's
/// `index`, `len`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `not`, `and`, `or`, `print`, `printf`, `println`.
/// A missing map key is an error, as Docker's `missingkey=error` makes it.
struct GoTemplate: Sendable {
    struct Error: Swift.Error, Sendable, CustomStringConvertible, Equatable {
        var message: String
        var description: String { message }
    }

    indirect enum Node: Sendable {
        case text(String)
        case action(Pipeline)
        case ifBlock(Pipeline, [Node], [Node])
        case rangeBlock(Pipeline, [Node], [Node])
        case withBlock(Pipeline, [Node], [Node])
    }

    struct Pipeline: Sendable {
        var declarations: [String] = []
        var commands: [[Operand]] = []
    }

    indirect enum Operand: Sendable {
        case field(variable: String?, path: [String])
        case literal(JSONValue)
        case function(String)
        case sub(Pipeline)
        /// A field of a parenthesised value: `(index .Mounts 0).Source`.
        case chain(Operand, [String])
    }

    let nodes: [Node]

    init(_ text: String) throws(GoTemplate.Error) {
        var parser = Parser(items: try Lexer.items(text))
        let (nodes, end) = try parser.parseList()
        guard case .eof = end else { throw Error(message: "template: unexpected {{\(end.word)}}") }
        self.nodes = nodes
    }
}

// MARK: - Lexing

extension GoTemplate {
    enum Token: Sendable, Equatable {
        case field([String])  // "." is []
        case variable(String, [String])  // "$" or "$x", then fields
        case string(String)
        case number(Double)
        case identifier(String)
        /// Fields right after `)`.
        case chain([String])
        case pipe, open, close, declare, comma
    }

    enum Item: Sendable {
        case text(String)
        case action([Token])
    }

    enum Lexer {
        static func items(_ text: String) throws(GoTemplate.Error) -> [Item] {
            var items: [Item] = []
            var rest = Substring(text)
            while let open = find("{{", in: rest) {
                var before = String(rest[..<open])
                var inner = rest[rest.index(open, offsetBy: 2)...]
                if inner.hasPrefix("- ") || inner.hasPrefix("-\t") || inner.hasPrefix("-\n") {
                    before = String(before.reversed().drop(while: { $0.isWhitespace }).reversed())
                    inner = inner.dropFirst()
                }
                guard let close = findClose(inner) else { throw Error(message: "template: unclosed action") }
                var body = inner[..<close]
                var after = inner[inner.index(close, offsetBy: 2)...]
                if body.hasSuffix(" -") || body.hasSuffix("\t-") || body.hasSuffix("\n-") {
                    body = body.dropLast()
                    after = after.drop(while: { $0.isWhitespace })
                }
                if !before.isEmpty { items.append(.text(before)) }
                let trimmed = body.trimmingSpaces
                if !trimmed.hasPrefix("/*") { items.append(.action(try tokens(trimmed))) }
                rest = after
            }
            if !rest.isEmpty { items.append(.text(String(rest))) }
            return items
        }

        static func find(_ needle: String, in s: Substring) -> String.Index? {
            var i = s.startIndex
            while i < s.endIndex {
                if s[i...].hasPrefix(needle) { return i }
                i = s.index(after: i)
            }
            return nil
        }

        /// The index of the `}}` that closes an action, skipping quoted strings.
        static func findClose(_ s: Substring) -> String.Index? {
            var i = s.startIndex
            var quote: Character? = nil
            while i < s.endIndex {
                let c = s[i]
                if let q = quote {
                    if c == "\\", q == "\"", s.index(after: i) < s.endIndex {
                        i = s.index(after: i)
                    } else if c == q {
                        quote = nil
                    }
                } else if c == "\"" || c == "`" {
                    quote = c
                } else if c == "}", s[s.index(after: i)...].hasPrefix("}") {
                    return i
                }
                i = s.index(after: i)
            }
            return nil
        }

        static func isIdentChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

        static func tokens(_ text: String) throws(GoTemplate.Error) -> [Token] {
            let chars = Array(text)
            var i = 0
            var out: [Token] = []
            func fields() -> [String] {
                var path: [String] = []
                while i < chars.count, chars[i] == "." {
                    i += 1
                    var name = ""
                    while i < chars.count, isIdentChar(chars[i]) {
                        name.append(chars[i])
                        i += 1
                    }
                    if !name.isEmpty { path.append(name) }
                }
                return path
            }
            while i < chars.count {
                let c = chars[i]
                if c.isWhitespace {
                    i += 1
                } else if c == "." {
                    out.append(out.last == .close ? .chain(fields()) : .field(fields()))
                } else if c == "$" {
                    i += 1
                    var name = "$"
                    while i < chars.count, isIdentChar(chars[i]) {
                        name.append(chars[i])
                        i += 1
                    }
                    out.append(.variable(name, fields()))
                } else if c == "\"" {
                    i += 1
                    var s = ""
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\", i + 1 < chars.count {
                            i += 1
                            switch chars[i] {
                            case "n": s.append("\n")
                            case "t": s.append("\t")
                            case "r": s.append("\r")
                            case "\\": s.append("\\")
                            case "\"": s.append("\"")
                            default: s.append("\\"); s.append(chars[i])
                            }
                        } else {
                            s.append(chars[i])
                        }
                        i += 1
                    }
                    guard i < chars.count else { throw Error(message: "template: unterminated quoted string") }
                    i += 1
                    out.append(.string(s))
                } else if c == "`" {
                    i += 1
                    var s = ""
                    while i < chars.count, chars[i] != "`" {
                        s.append(chars[i])
                        i += 1
                    }
                    guard i < chars.count else { throw Error(message: "template: unterminated raw quoted string") }
                    i += 1
                    out.append(.string(s))
                } else if c.isNumber || (c == "-" && i + 1 < chars.count && chars[i + 1].isNumber) {
                    var s = String(c)
                    i += 1
                    while i < chars.count, chars[i].isNumber || chars[i] == "." || chars[i] == "e" {
                        s.append(chars[i])
                        i += 1
                    }
                    guard let n = Double(s) else { throw Error(message: "template: bad number syntax: \"\(s)\"") }
                    out.append(.number(n))
                } else if c == "|" {
                    out.append(.pipe)
                    i += 1
                } else if c == "(" {
                    out.append(.open)
                    i += 1
                } else if c == ")" {
                    out.append(.close)
                    i += 1
                } else if c == "," {
                    out.append(.comma)
                    i += 1
                } else if c == ":" || c == "=" {
                    if c == ":", i + 1 < chars.count, chars[i + 1] == "=" { i += 2 } else { i += 1 }
                    out.append(.declare)
                } else if isIdentChar(c) {
                    var s = ""
                    while i < chars.count, isIdentChar(chars[i]) {
                        s.append(chars[i])
                        i += 1
                    }
                    out.append(.identifier(s))
                } else {
                    throw Error(message: "template: unexpected \"\(c)\" in command")
                }
            }
            return out
        }
    }
}

// MARK: - Parsing

extension GoTemplate {
    enum End {
        case eof, end, elseBranch
        case elseIf(Pipeline)

        var word: String {
            switch self {
            case .eof: return "EOF"
            case .end: return "end"
            case .elseBranch, .elseIf: return "else"
            }
        }
    }

    struct Parser {
        let items: [Item]
        var index = 0

        init(items: [Item]) { self.items = items }

        /// Parses nodes up to `{{end}}`, `{{else}}` or the end of input.
        mutating func parseList() throws(GoTemplate.Error) -> ([Node], End) {
            var nodes: [Node] = []
            while index < items.count {
                let item = items[index]
                index += 1
                switch item {
                case .text(let s):
                    nodes.append(.text(s))
                case .action(let tokens):
                    guard let first = tokens.first else { throw Error(message: "template: missing value for command") }
                    switch first {
                    case .identifier("end"):
                        return (nodes, .end)
                    case .identifier("else"):
                        if tokens.count > 1, tokens[1] == .identifier("if") {
                            return (nodes, .elseIf(try pipeline(Array(tokens.dropFirst(2)))))
                        }
                        return (nodes, .elseBranch)
                    case .identifier("if"):
                        nodes.append(try parseIf(try pipeline(Array(tokens.dropFirst()))))
                    case .identifier("range"):
                        let p = try pipeline(Array(tokens.dropFirst()))
                        let (body, alt) = try parseBody("range")
                        nodes.append(.rangeBlock(p, body, alt))
                    case .identifier("with"):
                        let p = try pipeline(Array(tokens.dropFirst()))
                        let (body, alt) = try parseBody("with")
                        nodes.append(.withBlock(p, body, alt))
                    case .identifier(let w) where ["define", "template", "block", "break", "continue"].contains(w):
                        throw Error(message: "template: {{\(w)}} is not supported")
                    default:
                        nodes.append(.action(try pipeline(tokens)))
                    }
                }
            }
            return (nodes, .eof)
        }

        mutating func parseIf(_ condition: Pipeline) throws(GoTemplate.Error) -> Node {
            let (body, end) = try parseList()
            switch end {
            case .end:
                return .ifBlock(condition, body, [])
            case .elseBranch:
                let (alt, end2) = try parseList()
                guard case .end = end2 else { throw Error(message: "template: expected end; found \(end2.word)") }
                return .ifBlock(condition, body, alt)
            case .elseIf(let next):
                return .ifBlock(condition, body, [try parseIf(next)])
            case .eof:
                throw Error(message: "template: unexpected EOF")
            }
        }

        mutating func parseBody(_ keyword: String) throws(GoTemplate.Error) -> ([Node], [Node]) {
            let (body, end) = try parseList()
            switch end {
            case .end:
                return (body, [])
            case .elseBranch:
                let (alt, end2) = try parseList()
                guard case .end = end2 else { throw Error(message: "template: expected end; found \(end2.word)") }
                return (body, alt)
            case .elseIf:
                throw Error(message: "template: else if is not allowed in \(keyword)")
            case .eof:
                throw Error(message: "template: unexpected EOF")
            }
        }

        /// `[$a[, $b] :=] command [| command]…`
        func pipeline(_ tokens: [Token]) throws(GoTemplate.Error) -> Pipeline {
            var p = Pipeline()
            var rest = tokens[...]
            if let declare = tokens.firstIndex(of: .declare) {
                for t in tokens[..<declare] {
                    switch t {
                    case .variable(let name, let path) where path.isEmpty: p.declarations.append(name)
                    case .comma: continue
                    default: throw Error(message: "template: bad variable declaration")
                    }
                }
                rest = tokens[(declare + 1)...]
            }
            var i = 0
            p.commands = try commandsFrom(Array(rest), &i, nested: false)
            guard !p.commands.isEmpty else { throw Error(message: "template: missing value for command") }
            return p
        }

        func commandsFrom(_ tokens: [Token], _ i: inout Int, nested: Bool) throws(GoTemplate.Error) -> [[Operand]] {
            var commands: [[Operand]] = []
            var current: [Operand] = []
            while i < tokens.count {
                let t = tokens[i]
                i += 1
                switch t {
                case .pipe:
                    guard !current.isEmpty else { throw Error(message: "template: missing command before |") }
                    commands.append(current)
                    current = []
                case .close:
                    guard nested else { throw Error(message: "template: unexpected right paren") }
                    if !current.isEmpty { commands.append(current) }
                    return commands
                case .open:
                    let inner = try commandsFrom(tokens, &i, nested: true)
                    current.append(.sub(Pipeline(declarations: [], commands: inner)))
                case .chain(let path):
                    guard let last = current.popLast() else { throw Error(message: "template: unexpected field") }
                    current.append(.chain(last, path))
                case .field(let path): current.append(.field(variable: nil, path: path))
                case .variable(let name, let path): current.append(.field(variable: name, path: path))
                case .string(let s): current.append(.literal(.string(s)))
                case .number(let n): current.append(.literal(.number(n)))
                case .identifier("true"): current.append(.literal(.bool(true)))
                case .identifier("false"): current.append(.literal(.bool(false)))
                case .identifier("nil"): current.append(.literal(.null))
                case .identifier(let name): current.append(.function(name))
                case .declare, .comma: throw Error(message: "template: unexpected token in command")
                }
            }
            if nested { throw Error(message: "template: unclosed left paren") }
            if !current.isEmpty { commands.append(current) }
            return commands
        }
    }
}
