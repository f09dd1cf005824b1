import BerthCore
import BerthDockerIgnore

/// `$NAME` and `${…}` handling for `ShellLex`.
extension ShellWordProcessor {
    /// Processes a `$…` at the current position (which holds the `$`).
    mutating func processDollar() throws(BerthError) -> Scalars {
        position += 1
        guard peek() == "{" else {
            let name = processName()
            if name.isEmpty { return ["$"] }
            if let value = env[name] { return value.scalars }
            return lex.skipUnsetEnv ? ("$" + name).scalars : []
        }
        position += 1
        guard let first = peek() else { throw .invalidArgument("syntax error: missing '}'") }
        if first == "{" || first == "}" || first == ":" { throw .invalidArgument("syntax error: bad substitution") }
        let name = processName()
        guard var modifier = next() else { throw .invalidArgument("syntax error: missing '}'") }
        var modifierText = String(modifier)
        let value = env[name]

        switch modifier {
        case "}":
            if value == nil, lex.skipUnsetEnv { return "${\(name)}".scalars }
            return (value ?? "").scalars
        case ":", "+", "-", "?", "#", "%":
            var nullIsUnset = false
            if modifier == ":" {
                nullIsUnset = true
                guard let second = next() else { throw .invalidArgument("syntax error: missing '}'") }
                modifier = second
                modifierText.unicodeScalars.append(second)
            }
            let word = try processOperand(stop: "}", rawEscapes: modifier == "#" || modifier == "%", missing: "'}'")
            if value == nil, lex.skipUnsetEnv { return "${\(name)\(modifierText)\(word)}".scalars }
            let unset = value == nil || (nullIsUnset && value == "")
            switch modifier {
            case "-": return unset ? word.scalars : (value ?? "").scalars
            case "+": return unset ? [] : word.scalars
            case "?":
                if value == nil {
                    throw .invalidArgument("\(name): \(word.isEmpty ? "is not allowed to be unset" : word)")
                }
                if unset { throw .invalidArgument("\(name): \(word.isEmpty ? "is not allowed to be empty" : word)") }
                return (value ?? "").scalars
            case "#", "%":
                var pattern = word
                let greedy = pattern.unicodeScalars.first == modifier
                if greedy { pattern.unicodeScalars.removeFirst() }
                let glob = try Glob.shellPattern(pattern)
                let text = (value ?? "").scalars
                return modifier == "#"
                    ? Self.trimPrefix(text, glob, greedy: greedy) : Self.trimSuffix(text, glob, greedy: greedy)
            default:
                throw .invalidArgument("unsupported modifier (\(modifierText)) in substitution")
            }
        case "/":
            let replaceAll = peek() == "/"
            if replaceAll { position += 1 }
            let pattern = try processOperand(stop: "/", rawEscapes: true, missing: "'/' in ${}")
            let replacement = try processOperand(stop: "}", rawEscapes: true, missing: "'}'")
            if value == nil, lex.skipUnsetEnv { return "${\(name)/\(pattern)/\(replacement)}".scalars }
            let glob = try Glob.shellPattern(pattern)
            return Self.replace((value ?? "").scalars, glob, with: replacement.scalars, all: replaceAll)
        default:
            throw .invalidArgument("unsupported modifier (\(modifierText)) in substitution")
        }
    }

    /// The expanded text up to `stop`, reporting a missing terminator as buildkit does.
    private mutating func processOperand(
        stop: Unicode.Scalar, rawEscapes: Bool, missing: String
    ) throws(BerthError) -> String {
        do {
            return String(scalars: try processStopOn(stop, rawEscapes: rawEscapes).0)
        } catch {
            if peek() == nil { throw .invalidArgument("syntax error: missing \(missing)") }
            throw error
        }
    }

    /// A variable name: letters, digits and `_`; or a run of digits; or one special parameter (`$@`, `$?`, …).
    mutating func processName() -> String {
        var name = String.UnicodeScalarView()
        while let c = peek() {
            if name.isEmpty, Self.isDigit(c) {
                while let d = peek(), Self.isDigit(d) {
                    name.append(d)
                    position += 1
                }
                return String(name)
            }
            if name.isEmpty, "@*#?-$!0".unicodeScalars.contains(c) {
                position += 1
                return String(c)
            }
            guard Self.isLetter(c) || Self.isDigit(c) || c == "_" else { break }
            name.append(c)
            position += 1
        }
        return String(name)
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.properties.generalCategory == .decimalNumber }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `${v#p}` removes the shortest matching prefix, `${v##p}` the longest.
    static func trimPrefix(_ value: Scalars, _ glob: Glob, greedy: Bool) -> Scalars {
        let ends = greedy ? Array((0...value.count).reversed()) : Array(0...value.count)
        for end in ends where glob.matches(Array(value[..<end])) { return Array(value[end...]) }
        return value
    }

    /// `${v%p}` removes the shortest matching suffix, `${v%%p}` the longest.
    static func trimSuffix(_ value: Scalars, _ glob: Glob, greedy: Bool) -> Scalars {
        let starts = greedy ? Array(0...value.count) : Array((0...value.count).reversed())
        for start in starts where glob.matches(Array(value[start...])) { return Array(value[..<start]) }
        return value
    }

    /// `${v/p/r}` replaces the first (leftmost, longest) match, `${v//p/r}` every match.
    static func replace(_ value: Scalars, _ glob: Glob, with replacement: Scalars, all: Bool) -> Scalars {
        var out: Scalars = []
        var i = 0
        var lastMatchEnd = -1
        var replaced = false
        while i <= value.count {
            var matchEnd: Int?
            if all || !replaced {
                matchEnd = (i...value.count).reversed().first { glob.matches(Array(value[i..<$0])) }
            }
            if let end = matchEnd, !(end == i && i == lastMatchEnd) {
                out.append(contentsOf: replacement)
                replaced = true
                lastMatchEnd = end
                if end > i {
                    i = end
                    continue
                }
            }
            if i < value.count { out.append(value[i]) }
            i += 1
        }
        return out
    }
}
