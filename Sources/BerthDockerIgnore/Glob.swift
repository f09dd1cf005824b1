import BerthCore

/// A compiled wildcard pattern, matched without regular expressions.
///
/// Two front ends build it: `.dockerignore` patterns (where `*` and `?` stop at `/`, `**` crosses directories and
/// `[...]` is a character class) and the shell patterns of `${var#pattern}`, `${var%pattern}` and
/// `${var/pattern/replacement}` (where `*` and `?` match any character). Matching is a memoised backtracking
/// walk, so a pattern with many stars stays polynomial.
package struct Glob: Sendable, Equatable {
    package enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        /// Any run of characters (`*`); with `crossesSlash` false the run contains no `/`.
        case star(crossesSlash: Bool)
        /// Exactly one character (`?`); with `crossesSlash` false it is not `/`.
        case one(crossesSlash: Bool)
        /// Nothing, or any characters ending with `/` (the `**/` of an ignore pattern: the regex `(.*/)?`).
        case directories
        /// One character in (or, negated, not in) the scalar-value ranges.
        case set(ranges: [ClosedRange<UInt32>], negated: Bool)
    }

    package var tokens: [Token]

    /// Whether the pattern matches all of `s`.
    package func matches(_ s: Scalars) -> Bool {
        var memo: [Int: Bool] = [:]
        let width = s.count + 1
        func step(_ t: Int, _ p: Int) -> Bool {
            if t == tokens.count { return p == s.count }
            let key = t * width + p
            if let known = memo[key] { return known }
            let result: Bool
            switch tokens[t] {
            case .literal(let c):
                result = p < s.count && s[p] == c && step(t + 1, p + 1)
            case .one(let crosses):
                result = p < s.count && (crosses || s[p] != "/") && step(t + 1, p + 1)
            case .set(let ranges, let negated):
                result = p < s.count && Glob.contains(ranges, s[p]) != negated && step(t + 1, p + 1)
            case .star(let crosses):
                result = step(t + 1, p) || (p < s.count && (crosses || s[p] != "/") && step(t, p + 1))
            case .directories:
                var found = step(t + 1, p)
                var q = p
                while !found, q < s.count {
                    if s[q] == "/" { found = step(t + 1, q + 1) }
                    q += 1
                }
                result = found
            }
            memo[key] = result
            return result
        }
        return step(0, 0)
    }

    /// Whether some text that starts with `prefix` (and goes on past it) could match the pattern.
    ///
    /// Conservative: true whenever the pattern is still alive once the prefix is consumed.
    package func couldMatch(startingWith prefix: Scalars) -> Bool {
        var memo: [Int: Bool] = [:]
        let width = prefix.count + 1
        func alive(_ t: Int, _ p: Int) -> Bool {
            if p == prefix.count { return t < tokens.count }
            if t == tokens.count { return false }
            let key = t * width + p
            if let known = memo[key] { return known }
            let c = prefix[p]
            let result: Bool
            switch tokens[t] {
            case .literal(let l): result = c == l && alive(t + 1, p + 1)
            case .one(let crosses): result = (crosses || c != "/") && alive(t + 1, p + 1)
            case .set(let ranges, let negated):
                result = Glob.contains(ranges, c) != negated && alive(t + 1, p + 1)
            case .star(let crosses): result = alive(t + 1, p) || ((crosses || c != "/") && alive(t, p + 1))
            case .directories: result = true  // `(.*/)?` can absorb the rest of the prefix and more
            }
            memo[key] = result
            return result
        }
        return alive(0, 0)
    }

    package static func contains(_ ranges: [ClosedRange<UInt32>], _ c: Unicode.Scalar) -> Bool {
        ranges.contains { $0.contains(c.value) }
    }
}

// MARK: - Shell patterns

extension Glob {
    /// Compiles the pattern of a `${var#…}`, `${var%…}` or `${var/…/…}` substitution as buildkit does: `*` is
    /// any text, `?` any one character, `\*`, `\?` and `\\` are literal, and the `\` before `}` or `/` is dropped.
    /// - Throws: a message for any other escape.
    package static func shellPattern(_ pattern: String) throws(BerthError) -> Glob {
        let s = pattern.scalars
        var tokens: [Token] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            i += 1
            switch c {
            case "*": tokens.append(.star(crossesSlash: true))
            case "?": tokens.append(.one(crossesSlash: true))
            case "\\":
                if i < s.count, s[i] == "}" || s[i] == "/" { continue }
                guard i < s.count, s[i] == "*" || s[i] == "?" || s[i] == "\\" else {
                    let next = i < s.count ? String(s[i]) : ""
                    throw .invalidArgument("invalid pattern (\(pattern)) in substitution: invalid escape '\\\(next)'")
                }
                tokens.append(.literal(s[i]))
                i += 1
            default: tokens.append(.literal(c))
            }
        }
        return Glob(tokens: tokens)
    }
}
