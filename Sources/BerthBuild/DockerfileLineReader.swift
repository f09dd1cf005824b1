import BerthCore
import BerthDockerIgnore

/// Turns Dockerfile text into logical lines, as buildkit's parser reads it.
///
/// - Lines end at `\n`; a `\r` before it is dropped (CRLF files), and a UTF-8 byte order mark on the first line
///   is ignored.
/// - Parser directives (`# syntax=…`, `# escape=…`, `# check=…`) are read from the comment lines at the very top;
///   the first line that is not a known directive (a blank line, another comment, an instruction, an unknown
///   directive) ends them.
/// - A line whose first non-blank character is `#` is a comment, also inside a continued instruction.
/// - An escape character at the end of a line (trailing spaces and tabs allowed, but not an escaped escape
///   character) continues the instruction on the next line; blank lines inside a continuation are skipped.
///   Continuation lines keep their leading white space, the first line loses it.
struct DockerfileLineReader {
    /// The escape character chosen by the directive (`\` by default).
    private(set) var escape: Unicode.Scalar = "\\"
    /// The value of the `# syntax=` directive.
    private(set) var syntax: String?
    /// The value of the `# check=` directive.
    private(set) var check: String?
    /// How many physical lines have been consumed: the 1-based number of the last line read.
    private(set) var linesRead = 0

    private let lines: [Scalars]
    private let lastLineHasNewline: Bool
    private var directivesDone = false
    private var directivesSeen: Set<String> = []

    init(text: String) {
        var lines: [Scalars] = []
        var current: Scalars = []
        for c in text.unicodeScalars {
            if c == "\n" {
                lines.append(Self.trimCarriageReturns(current))
                current = []
            } else {
                current.append(c)
            }
        }
        lastLineHasNewline = current.isEmpty
        if !current.isEmpty { lines.append(Self.trimCarriageReturns(current)) }
        if let first = lines.first, first.first == "\u{FEFF}" { lines[0].removeFirst() }
        self.lines = lines
    }

    /// The next instruction's text with continuations joined and comment lines removed, or nil at the end.
    /// - Returns: the text and the 1-based lines where it starts and ends.
    /// - Throws: `BerthError.invalidArgument` for a repeated or invalid parser directive.
    mutating func nextLogicalLine() throws(BerthError) -> (text: String, start: Int, end: Int)? {
        while linesRead < lines.count {
            let raw = lines[linesRead]
            linesRead += 1
            let stripped = TextScan.trimLeadingSpace(raw)
            try scanDirective(stripped)
            let isComment = stripped.first == "#"
            var (line, ended) = trimContinuation(isComment ? [] : stripped)
            if ended && line.isEmpty { continue }
            let start = linesRead
            while !ended, linesRead < lines.count {
                let next = lines[linesRead]
                linesRead += 1
                let nextStripped = TextScan.trimLeadingSpace(next)
                if nextStripped.isEmpty || nextStripped.first == "#" { continue }
                let (part, partEnded) = trimContinuation(next)
                line.append(contentsOf: part)
                ended = partEnded
            }
            return (String(scalars: line), start, linesRead)
        }
        return nil
    }

    /// Reads the body of `heredoc` from the lines after the instruction.
    /// - Returns: the heredoc with its content, or nil when the file ends before the terminator line.
    mutating func readBody(of heredoc: Heredoc) -> Heredoc? {
        var result = heredoc
        let terminator = heredoc.name.scalars
        var content = String.UnicodeScalarView()
        while linesRead < lines.count {
            let raw = lines[linesRead]
            linesRead += 1
            var candidate = raw[...]
            if heredoc.chompTabs { candidate = candidate.drop { $0 == "\t" } }
            if Array(candidate) == terminator {
                result.content = heredoc.chompTabs ? Heredoc.chompingTabs(String(content)) : String(content)
                return result
            }
            content.append(contentsOf: raw)
            if linesRead < lines.count || lastLineHasNewline { content.append("\n") }
        }
        return nil
    }

    /// Splits off a line-continuation escape: buildkit's `([^E])E[ \t]*$|^E[ \t]*$` for the escape character E.
    private func trimContinuation(_ line: Scalars) -> (Scalars, ended: Bool) {
        var end = line.count
        while end > 0, line[end - 1] == " " || line[end - 1] == "\t" { end -= 1 }
        guard end > 0, line[end - 1] == escape else { return (line, true) }
        if end >= 2, line[end - 2] == escape { return (line, true) }
        return (Array(line[..<(end - 1)]), false)
    }

    /// Handles `line` (leading white space removed) as a possible parser directive.
    private mutating func scanDirective(_ line: Scalars) throws(BerthError) {
        guard !directivesDone else { return }
        guard let (name, value) = Self.directive(line), ["syntax", "escape", "check"].contains(name) else {
            directivesDone = true
            return
        }
        guard directivesSeen.insert(name).inserted else {
            throw .invalidArgument(
                "dockerfile parse error on line \(linesRead): only one \(name) parser directive can be used")
        }
        switch name {
        case "escape":
            guard value == "\\" || value == "`", let scalar = value.unicodeScalars.first else {
                throw .invalidArgument(
                    "dockerfile parse error on line \(linesRead): "
                        + "invalid escape token '\(value)' does not match ` or \\"
                )
            }
            escape = scalar
        case "syntax": syntax = value
        default: check = value
        }
    }

    /// The lower-cased name and the value of a `#name=value` line, or nil.
    private static func directive(_ line: Scalars) -> (String, String)? {
        guard line.first == "#" else { return nil }
        let body = TextScan.trimLeadingSpace(Array(line.dropFirst()))
        guard let first = body.first, first.isASCIILetter else { return nil }
        var i = 1
        while i < body.count, body[i].isASCIILetter || body[i].isASCIIDigit { i += 1 }
        let name = String(scalars: body[..<i]).lowercased()
        while i < body.count, body[i].isSpace { i += 1 }
        guard i < body.count, body[i] == "=" else { return nil }
        let value = TextScan.trimSpace(Array(body[(i + 1)...]))
        guard !value.isEmpty else { return nil }
        return (name, String(scalars: value))
    }

    private static func trimCarriageReturns(_ line: Scalars) -> Scalars {
        var end = line.count
        while end > 0, line[end - 1] == "\r" { end -= 1 }
        return end == line.count ? line : Array(line[..<end])
    }
}
