import BerthCore

extension GoTemplate {
    /// Runs the template over `data` (the dot, and `$`).
    func execute(_ data: JSONValue) throws(GoTemplate.Error) -> String {
        var state = State(variables: [("$", data)])
        var out = ""
        try state.run(nodes, dot: data, into: &out)
        return out
    }

    /// Go's `fmt` `%v` for JSON data: strings bare, integral numbers without a fraction, `[a b]`, `map[k:v]`
    /// with sorted keys, `<nil>` for null.
    static func display(_ value: JSONValue) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s
        case .array(let items): return "[" + items.map(display).joined(separator: " ") + "]"
        case .object(let members):
            return "map[" + members.sorted { $0.0 < $1.0 }.map { "\($0.0):\(display($0.1))" }.joined(separator: " ")
                + "]"
        default:
            if let n = value.int64Value { return String(n) }
            if let d = number(value) { return "\(d)" }
            return value.serialized
        }
    }

    /// A number of either kind as a `Double`.
    static func number(_ value: JSONValue) -> Double? {
        if let d = value.doubleValue { return d }
        return value.int64Value.map(Double.init)
    }

    /// Go's truth: false, 0, nil and empty strings, arrays and maps are false.
    static func truth(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return false
        case .bool(let b): return b
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let m): return !m.isEmpty
        default: return (number(value) ?? 1) != 0
        }
    }

    struct State {
        var variables: [(String, JSONValue)]

        func lookup(_ name: String) throws(GoTemplate.Error) -> JSONValue {
            guard let v = variables.last(where: { $0.0 == name }) else {
                throw Error(message: "template: undefined variable \"\(name)\"")
            }
            return v.1
        }

        mutating func run(_ nodes: [Node], dot: JSONValue, into out: inout String) throws(GoTemplate.Error) {
            let mark = variables.count
            defer { variables.removeLast(variables.count - mark) }
            for node in nodes {
                switch node {
                case .text(let s):
                    out += s
                case .action(let p):
                    let v = try eval(p, dot: dot)
                    if p.declarations.isEmpty { out += GoTemplate.display(v) }
                case .ifBlock(let p, let body, let alt):
                    try run(GoTemplate.truth(try eval(p, dot: dot)) ? body : alt, dot: dot, into: &out)
                case .withBlock(let p, let body, let alt):
                    let v = try eval(p, dot: dot)
                    if GoTemplate.truth(v) {
                        try run(body, dot: v, into: &out)
                    } else {
                        try run(alt, dot: dot, into: &out)
                    }
                case .rangeBlock(let p, let body, let alt):
                    let v = try eval(Pipeline(declarations: [], commands: p.commands), dot: dot)
                    var pairs: [(JSONValue, JSONValue)] = []
                    switch v {
                    case .array(let items): pairs = items.enumerated().map { (.int($0.offset), $0.element) }
                    case .object(let members): pairs = members.sorted { $0.0 < $1.0 }.map { (.string($0.0), $0.1) }
                    case .null: pairs = []
                    default: throw Error(message: "template: range can't iterate over \(GoTemplate.display(v))")
                    }
                    if pairs.isEmpty {
                        try run(alt, dot: dot, into: &out)
                        continue
                    }
                    for (key, element) in pairs {
                        let inner = variables.count
                        if p.declarations.count == 1 { variables.append((p.declarations[0], element)) }
                        if p.declarations.count == 2 {
                            variables.append((p.declarations[0], key))
                            variables.append((p.declarations[1], element))
                        }
                        try run(body, dot: element, into: &out)
                        variables.removeLast(variables.count - inner)
                    }
                }
            }
        }

        mutating func eval(_ p: Pipeline, dot: JSONValue) throws(GoTemplate.Error) -> JSONValue {
            var value: JSONValue? = nil
            for command in p.commands { value = try call(command, dot: dot, piped: value) }
            let result = value ?? .null
            for name in p.declarations { variables.append((name, result)) }
            return result
        }

        mutating func call(_ command: [Operand], dot: JSONValue, piped: JSONValue?) throws(GoTemplate.Error)
            -> JSONValue
        {
            guard let first = command.first else { throw Error(message: "template: empty command") }
            if case .function(let name) = first {
                var args: [JSONValue] = []
                for operand in command.dropFirst() { args.append(try argument(operand, dot: dot)) }
                if let piped { args.append(piped) }
                return try GoTemplate.function(name, args)
            }
            guard command.count == 1, piped == nil else {
                throw Error(message: "template: can't give argument to non-function")
            }
            return try argument(first, dot: dot)
        }

        mutating func argument(_ operand: Operand, dot: JSONValue) throws(GoTemplate.Error) -> JSONValue {
            switch operand {
            case .literal(let v): return v
            case .function(let name): return try GoTemplate.function(name, [])
            case .sub(let p): return try eval(p, dot: dot)
            case .chain(let base, let path):
                return try GoTemplate.walk(try argument(base, dot: dot), path)
            case .field(let variable, let path):
                let v = try variable.map { (n: String) throws(GoTemplate.Error) in try lookup(n) } ?? dot
                return try GoTemplate.walk(v, path)
            }
        }
    }

    /// Follows `path` through objects; a missing key is an error, as with Docker's `missingkey=error`.
    static func walk(_ start: JSONValue, _ path: [String]) throws(GoTemplate.Error) -> JSONValue {
        var v = start
        for key in path {
            switch v {
            case .object(let members):
                guard let next = members.first(where: { $0.0 == key })?.1 else {
                    throw Error(message: "template: map has no entry for key \"\(key)\"")
                }
                v = next
            case .null:
                throw Error(message: "template: nil pointer evaluating interface {}.\(key)")
            default:
                throw Error(message: "template: can't evaluate field \(key) in \(GoTemplate.display(v))")
            }
        }
        return v
    }
}

// MARK: - Functions

extension GoTemplate {
    static func function(_ name: String, _ args: [JSONValue]) throws(GoTemplate.Error) -> JSONValue {
        func want(_ n: Int) throws(GoTemplate.Error) {
            guard args.count == n else {
                throw Error(message: "template: wrong number of args for \(name): want \(n) got \(args.count)")
            }
        }
        func string(_ i: Int) -> String { display(args[i]) }
        func int(_ i: Int) throws(GoTemplate.Error) -> Int {
            guard let n = number(args[i]), n.rounded() == n else {
                throw Error(message: "template: \(name): expected an integer, got \(display(args[i]))")
            }
            return Int(n)
        }
        switch name {
        case "json":
            try want(1)
            return .string(args[0].serialized)
        case "join":
            try want(2)
            return .string((args[0].arrayValue ?? []).map(display).joined(separator: string(1)))
        case "split":
            try want(2)
            let sep = string(1)
            guard !sep.isEmpty else { return .strings(string(0).map { String($0) }) }
            return .strings(string(0).split(separator: sep, omittingEmptySubsequences: false).map(String.init))
        case "lower":
            try want(1)
            return .string(string(0).lowercased())
        case "upper":
            try want(1)
            return .string(string(0).uppercased())
        case "title":
            try want(1)
            var out = ""
            var start = true
            for c in string(0) {
                out += start ? c.uppercased() : String(c)
                start = c.isWhitespace
            }
            return .string(out)
        case "pad":
            try want(3)
            return .string(
                String(repeating: " ", count: max(0, try int(1))) + string(0)
                    + String(repeating: " ", count: max(0, try int(2))))
        case "truncate":
            try want(2)
            return .string(String(string(0).unicodeScalars.prefix(max(0, try int(1))).map(Character.init)))
        case "len":
            try want(1)
            switch args[0] {
            case .string(let s): return .int(s.utf8.count)
            case .array(let a): return .int(a.count)
            case .object(let m): return .int(m.count)
            default: throw Error(message: "template: len of \(display(args[0]))")
            }
        case "index":
            guard !args.isEmpty else { throw Error(message: "template: wrong number of args for index") }
            var v = args[0]
            for key in args.dropFirst() {
                switch (v, key) {
                case (.object(let m), _): v = m.first { $0.0 == display(key) }?.1 ?? .string("")
                case (.array(let a), _):
                    guard let n = key.intValue, n >= 0, n < a.count else {
                        throw Error(message: "template: index out of range: \(display(key))")
                    }
                    v = a[n]
                case (.null, _): v = .null
                default: throw Error(message: "template: can't index item of type \(display(v))")
                }
            }
            return v
        case "eq":
            guard args.count >= 2 else { throw Error(message: "template: missing argument for comparison") }
            return .bool(args.dropFirst().contains { equal(args[0], $0) })
        case "ne":
            try want(2)
            return .bool(!equal(args[0], args[1]))
        case "lt", "le", "gt", "ge":
            try want(2)
            let order: Int
            if let a = number(args[0]), let b = number(args[1]) {
                order = a < b ? -1 : (a > b ? 1 : 0)
            } else if let a = args[0].stringValue, let b = args[1].stringValue {
                order = a < b ? -1 : (a > b ? 1 : 0)
            } else {
                throw Error(message: "template: incompatible types for comparison")
            }
            switch name {
            case "lt": return .bool(order < 0)
            case "le": return .bool(order <= 0)
            case "gt": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "not":
            try want(1)
            return .bool(!truth(args[0]))
        case "and":
            guard !args.isEmpty else { throw Error(message: "template: wrong number of args for and") }
            return args.first { !truth($0) } ?? args[args.count - 1]
        case "or":
            guard !args.isEmpty else { throw Error(message: "template: wrong number of args for or") }
            return args.first { truth($0) } ?? args[args.count - 1]
        case "print":
            var out = ""
            for (i, a) in args.enumerated() {
                if i > 0, a.stringValue == nil, args[i - 1].stringValue == nil { out += " " }
                out += display(a)
            }
            return .string(out)
        case "println":
            return .string(args.map(display).joined(separator: " ") + "\n")
        case "printf":
            guard let format = args.first?.stringValue else { throw Error(message: "template: printf needs a format") }
            return .string(printf(format, Array(args.dropFirst())))
        default:
            throw Error(message: "template: function \"\(name)\" not defined")
        }
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        return a == b
    }

    /// `%v`, `%s`, `%d`, `%q` and `%%`, with an optional width and `-` for left alignment.
    static func printf(_ format: String, _ args: [JSONValue]) -> String {
        var out = ""
        var next = 0
        var chars = format[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "%" else {
                out.append(c)
                continue
            }
            var left = false
            if chars.first == "-" {
                left = true
                chars = chars.dropFirst()
            }
            let digits = chars.prefix { $0.isASCII && $0.isNumber }
            chars = chars.dropFirst(digits.count)
            let width = Int(digits) ?? 0
            guard let verb = chars.first else {
                out += "%!(NOVERB)"
                break
            }
            chars = chars.dropFirst()
            if verb == "%" {
                out += "%"
                continue
            }
            guard next < args.count else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            let arg = args[next]
            next += 1
            var text: String
            switch verb {
            case "q":
                var quoted = ""
                JSONValue.writeString(display(arg), to: &quoted)
                text = quoted
            default:
                text = display(arg)
            }
            let n = text.unicodeScalars.count
            if n < width {
                let fill = String(repeating: " ", count: width - n)
                text = left ? text + fill : fill + text
            }
            out += text
        }
        return out
    }
}
