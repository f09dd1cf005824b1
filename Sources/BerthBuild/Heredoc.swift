/// A here-document attached to a RUN, COPY or ADD instruction (`RUN <<EOF` … `EOF`).
///
/// The body is the lines after the instruction up to the line holding only the name. Several heredocs in one
/// instruction (`COPY <<a <<b /dir/`) are read one after the other, in the order the instruction names them.
public struct Heredoc: Sendable, Equatable {
    /// The delimiter word with its quotes removed (`EOF` for `<<"EOF"`). COPY and ADD use it as the file name.
    public var name: String
    /// The body, each line ending with `\n` (CRLF line ends become `\n`). With `chompTabs`, leading tabs are
    /// already removed from every line.
    public var content: String
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is taken literally. When true,
    /// COPY/ADD expand `$variables` in the body (see `Instruction.resolved(env:)`); RUN leaves that to the shell.
    public var expands: Bool
    /// `<<-EOF`: leading tabs are stripped from the body lines and from the terminator line.
    public var chompTabs: Bool
    /// The descriptor written before `<<` (`3<<EOF`), 0 when none was (the command's standard input).
    public var fileDescriptor: Int

    public init(name: String, content: String, expands: Bool = true, chompTabs: Bool = false, fileDescriptor: Int = 0) {
        self.name = name
        self.content = content
        self.expands = expands
        self.chompTabs = chompTabs
        self.fileDescriptor = fileDescriptor
    }
}

extension Heredoc {
    /// The heredoc a single word introduces (`<<EOF`, `<<-"EOF"`, `3<<EOF`), with an empty body; nil for a word
    /// that is not one (buildkit's `^(\d*)<<(-?)([^<]*)$` with a one-word name).
    static func marker(_ word: String) -> Heredoc? {
        let s = word.scalars
        var i = 0
        while i < s.count, s[i].isASCIIDigit { i += 1 }
        let digits = String(scalars: s[0..<i])
        guard i + 1 < s.count, s[i] == "<", s[i + 1] == "<" else { return nil }
        i += 2
        var chomp = false
        if i < s.count, s[i] == "-" {
            chomp = true
            i += 1
        }
        let rest = String(scalars: s[i...])
        guard !rest.isEmpty, !rest.unicodeScalars.contains("<") else { return nil }

        var lex = ShellLex(escape: "\\")
        lex.skipUnsetEnv = true
        guard let words = try? lex.expandWords(rest, env: [:]), words.count == 1 else { return nil }
        lex.rawQuotes = true
        guard let rawWords = try? lex.expandWords(rest, env: [:]), rawWords.count == 1 else { return nil }
        func quotes(_ text: String) -> Int { text.unicodeScalars.filter { $0 == "'" || $0 == "\"" }.count }
        return Heredoc(
            name: words[0], content: "", expands: quotes(words[0]) == quotes(rawWords[0]), chompTabs: chomp,
            fileDescriptor: Int(digits) ?? 0)
    }

    /// The heredocs an instruction line introduces, in order. The line is split into words with quotes and
    /// escapes kept (so `"<<EOF"` or `\<<EOF` is not a heredoc); a line that does not lex has none.
    static func markers(inLine line: String) -> [Heredoc] {
        var lex = ShellLex(escape: "\\")
        lex.rawQuotes = true
        lex.rawEscapes = true
        lex.skipUnsetEnv = true
        guard let words = try? lex.expandWords(line, env: [:]) else { return [] }
        return words.compactMap { marker($0) }
    }

    /// `text` without the tabs at the start of each line.
    static func chompingTabs(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var atLineStart = true
        for c in text.unicodeScalars {
            if atLineStart, c == "\t" { continue }
            atLineStart = c == "\n"
            out.append(c)
        }
        return String(out)
    }
}
