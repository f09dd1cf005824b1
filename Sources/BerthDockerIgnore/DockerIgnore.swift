import BerthCore

/// The exclusion rules of a `.dockerignore` file (moby/patternmatcher, as the Docker CLI reads the file).
///
/// - Lines starting with `#` are comments; blank lines are skipped; each pattern is trimmed and cleaned (`./`,
///   `//`, `..` resolved, one leading `/` removed), so `/foo`, `./foo` and `foo/` mean the same.
/// - `*` matches any run of characters but `/`, `?` one character but `/`, `[a-z]`/`[^a-z]` a class, `\` escapes
///   the next character, and `**` any number of directories (`**/*.go`, `foo/**`).
/// - A pattern that matches a directory excludes everything below it.
/// - `!pattern` re-includes what it matches; the last matching pattern wins.
///
/// Example: with `*.md` then `!README.md`, `matches("CHANGES.md")` is true and `matches("README.md")` false.
/// Paths are relative to the build context, `/`-separated.
public struct DockerIgnore: Sendable, Equatable {
    /// The patterns in file order.
    public let patterns: [Pattern]

    /// Compiles patterns, each as one `.dockerignore` line would be after reading (see `parse(_:)`).
    /// - Throws: `BerthError.invalidArgument` for a lone `!` or a malformed pattern (an unclosed `[`, an empty
    ///   class, a trailing `\`).
    public init(patterns: [String]) throws(BerthError) {
        var compiled: [Pattern] = []
        for raw in patterns {
            let trimmed = raw.trimmingSpace
            guard !trimmed.isEmpty else { continue }
            var text = Self.clean(trimmed)
            let isException = text.unicodeScalars.first == "!"
            if isException {
                text.unicodeScalars.removeFirst()
                guard !text.isEmpty else { throw .invalidArgument("illegal exclusion pattern: \"!\"") }
            }
            compiled.append(try Pattern(text, isException: isException))
        }
        self.patterns = compiled
    }

    /// Reads the text of a `.dockerignore` file: skips comment lines (a `#` in the first column) and blank lines,
    /// trims each line, and cleans the path of each pattern (with or without `!`).
    /// - Throws: as `init(patterns:)`.
    public static func parse(_ text: String) throws(BerthError) -> DockerIgnore {
        var lines: [String] = []
        for (index, rawLine) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            var line = String(rawLine)
            if index == 0, line.unicodeScalars.first == "\u{FEFF}" { line.unicodeScalars.removeFirst() }
            guard line.unicodeScalars.first != "#" else { continue }
            var pattern = line.trimmingSpace
            guard !pattern.isEmpty else { continue }
            let invert = pattern.unicodeScalars.first == "!"
            if invert { pattern = String(pattern.unicodeScalars.dropFirst()).trimmingSpace }
            if !pattern.isEmpty {
                pattern = clean(pattern)
                if pattern.unicodeScalars.count > 1, pattern.unicodeScalars.first == "/" {
                    pattern.unicodeScalars.removeFirst()
                }
            }
            lines.append(invert ? "!" + pattern : pattern)
        }
        return try DockerIgnore(patterns: lines)
    }

    /// Whether some pattern is an exception (`!…`).
    public var hasExceptions: Bool { patterns.contains(where: \.isException) }

    /// Whether `path` is excluded from the build context.
    ///
    /// Patterns apply in order to the path and to each of its parent directories; the last one that matches
    /// decides (an exception re-includes). The context root itself (`.` or empty) is never excluded.
    /// - Parameter path: relative to the context, `/`-separated; a leading `/` or `./` is ignored.
    public func matches(_ path: String) -> Bool {
        let file = Self.normalize(path)
        guard file != "." else { return false }
        let target = file.scalars
        let parents = Self.ancestors(of: file).map(\.scalars)
        var matched = false
        for pattern in patterns where pattern.isException == matched {
            if pattern.matches(target) || parents.contains(where: pattern.matches) {
                matched = !pattern.isException
            }
        }
        return matched
    }

    /// Whether an exception pattern could re-include something below `directory`, so that a walker must still
    /// descend into it although `matches(directory)` is true. False means every path below is excluded and the
    /// directory can be skipped whole. Conservative: true when unsure (for example for `!**/keep`).
    /// - Parameter directory: relative to the context, `/`-separated.
    public func mayReinclude(below directory: String) -> Bool {
        let dir = Self.normalize(directory)
        guard dir != "." else { return hasExceptions }
        let prefix = (dir + "/").scalars
        let ancestry = (Self.ancestors(of: dir) + [dir]).map(\.scalars)
        for pattern in patterns where pattern.isException {
            if ancestry.contains(where: pattern.matches) || pattern.couldMatch(startingWith: prefix) { return true }
        }
        return false
    }

    /// `path` cleaned, without a leading `/` or `./`: `"."` for the context root.
    static func normalize(_ path: String) -> String {
        var cleaned = clean(path)
        while cleaned.unicodeScalars.first == "/" { cleaned.unicodeScalars.removeFirst() }
        return cleaned.isEmpty ? "." : cleaned
    }

    /// The parent directories of a cleaned relative path, outermost first (`a`, `a/b` for `a/b/c`).
    static func ancestors(of path: String) -> [String] {
        let parts = path.unicodeScalars.split(separator: "/").map(String.init)
        guard parts.count > 1 else { return [] }
        return (1..<parts.count).map { parts[0..<$0].joined(separator: "/") }
    }

    /// Go's `path.Clean`: the shortest equivalent path (`.` and empty elements removed, `..` resolved lexically).
    static func clean(_ path: String) -> String {
        guard !path.isEmpty else { return "." }
        let rooted = path.unicodeScalars.first == "/"
        var parts: [String] = []
        for element in path.unicodeScalars.split(separator: "/").map(String.init) where element != "." {
            if element == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append("..")
                }
            } else {
                parts.append(element)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
