import BerthCore

extension DockerIgnore {
    /// One compiled `.dockerignore` pattern.
    public struct Pattern: Sendable, Equatable {
        /// The cleaned pattern, without its `!`.
        public let text: String
        /// An exception (`!pattern`): re-includes what it matches.
        public let isException: Bool

        /// How moby/patternmatcher matches it: a plain path compares exactly, `dir/**` by prefix and `**/name` by
        /// suffix; anything else through the compiled wildcard program.
        enum Kind: Sendable, Equatable { case exact, prefix, suffix, glob }
        let kind: Kind
        let glob: Glob
        let scalars: Scalars

        init(_ text: String, isException: Bool) throws(BerthError) {
            self.text = text
            self.isException = isException
            self.scalars = text.scalars
            (kind, glob) = try Self.compile(text)
        }

        /// Whether the pattern matches `p` itself (parents are the caller's business).
        func matches(_ p: Scalars) -> Bool {
            let t = scalars
            switch kind {
            case .exact: return p == t
            case .prefix: return p.starts(with: t.dropLast(2))
            case .suffix:
                let suffix = Array(t.dropFirst(2))
                if p.count >= suffix.count, Array(p[(p.count - suffix.count)...]) == suffix { return true }
                return suffix.first == "/" && p == Array(suffix.dropFirst())
            case .glob: return glob.matches(p)
            }
        }

        /// Whether the pattern could match a path that starts with `prefix` (a directory and `/`).
        func couldMatch(startingWith prefix: Scalars) -> Bool {
            kind == .suffix || glob.couldMatch(startingWith: prefix)
        }

        /// Translates the pattern as patternmatcher's `compile` does, and checks its syntax as Go's
        /// `filepath.Match` does.
        private static func compile(_ text: String) throws(BerthError) -> (Kind, Glob) {
            let s = text.scalars
            var tokens: [Glob.Token] = []
            var kind = Kind.exact
            var pos = 0
            var iteration = 0
            func bad() -> BerthError { .invalidArgument("syntax error in pattern \(text.goQuoted)") }
            while pos < s.count {
                let ch = s[pos]
                pos += 1
                defer { iteration += 1 }
                switch ch {
                case "*":
                    guard pos < s.count, s[pos] == "*" else {
                        tokens.append(.star(crossesSlash: false))
                        kind = .glob
                        continue
                    }
                    pos += 1
                    if pos < s.count, s[pos] == "/" { pos += 1 }
                    if pos == s.count {
                        tokens.append(.star(crossesSlash: true))
                        kind = kind == .exact ? .prefix : .glob
                    } else {
                        tokens.append(.directories)
                        kind = .glob
                    }
                    if iteration == 0 { kind = .suffix }
                case "?":
                    tokens.append(.one(crossesSlash: false))
                    kind = .glob
                case "\\":
                    guard pos < s.count else { throw bad() }
                    tokens.append(.literal(s[pos]))
                    pos += 1
                    kind = .glob
                case "[":
                    var negated = false
                    if pos < s.count, s[pos] == "^" {
                        negated = true
                        pos += 1
                    }
                    var ranges: [ClosedRange<UInt32>] = []
                    while true {
                        guard pos < s.count else { throw bad() }
                        if s[pos] == "]", !ranges.isEmpty {
                            pos += 1
                            break
                        }
                        let low = try classCharacter(s, &pos, bad)
                        var high = low
                        if pos < s.count, s[pos] == "-" {
                            pos += 1
                            high = try classCharacter(s, &pos, bad)
                        }
                        guard low.value <= high.value else { throw bad() }
                        ranges.append(low.value...high.value)
                    }
                    tokens.append(.set(ranges: ranges, negated: negated))
                    kind = .glob
                case "]":
                    tokens.append(.literal(ch))
                    kind = .glob
                default:
                    tokens.append(.literal(ch))
                }
            }
            return (kind, Glob(tokens: tokens))
        }

        /// One character of a `[…]` class: `\x` is `x`; an unescaped `-` or `]` here is malformed.
        private static func classCharacter(
            _ s: Scalars, _ pos: inout Int, _ bad: () -> BerthError
        ) throws(BerthError) -> Unicode.Scalar {
            guard pos < s.count, s[pos] != "-", s[pos] != "]" else { throw bad() }
            if s[pos] == "\\" {
                pos += 1
                guard pos < s.count else { throw bad() }
            }
            pos += 1
            return s[pos - 1]
        }
    }
}
