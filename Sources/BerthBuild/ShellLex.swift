import BerthCore
import BerthDockerIgnore

/// Variable expansion and word splitting with the Dockerfile's rules (buildkit's `shell.Lex`).
///
/// The builder expands the arguments of FROM, COPY/ADD (sources, destination, `--from`, `--chown`, `--chmod`),
/// ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME and STOPSIGNAL against the environment of the current step; the
/// shell form of RUN, CMD and ENTRYPOINT is left to the shell. Supported syntax:
///
/// - `'single quotes'` keep everything literal; `"double quotes"` expand `$` and let the escape character escape
///   `"`, `$` and itself (any other escaped character keeps its escape).
/// - The escape character (`\`, or `` ` `` after `# escape=`) outside quotes makes the next character literal.
/// - `$NAME`, `${NAME}`; an unset variable expands to nothing. `$` before anything but a name stays `$`.
/// - `${NAME:-word}` (`word` if unset or empty), `${NAME-word}` (if unset), `${NAME:+word}` (`word` if set and
///   not empty), `${NAME+word}` (if set), `${NAME:?message}` and `${NAME?message}` (an error), with `word`
///   itself expanded, so `${A:-${B}}` nests.
/// - `${NAME#pattern}`, `${NAME##pattern}`, `${NAME%pattern}`, `${NAME%%pattern}` and `${NAME/pattern/text}`,
///   `${NAME//pattern/text}` with `*` and `?` wildcards.
///
/// Example: with `env = ["abc": "hello"]`, `expandWord("def=$abc")` is `"def=hello"` and
/// `expandWord(#"\$abc"#)` is `"$abc"`.
public struct ShellLex: Sendable, Equatable {
    /// The escape character: `\` unless the Dockerfile's `# escape=` directive chose `` ` ``.
    public let escapeCharacter: Character
    let escape: Unicode.Scalar
    /// Quotes are kept in the output (used to find heredoc names).
    var rawQuotes = false
    /// Escape characters are kept in the output (used to find heredoc names).
    var rawEscapes = false
    /// Unset variables stay as written instead of expanding to nothing.
    var skipUnsetEnv = false
    /// Quotes are ordinary characters (used to expand heredoc bodies, where quotes are text).
    var skipProcessQuotes = false

    /// A lexer using `escape` as the escape character.
    /// - Parameter escape: `\` or `` ` `` (the parser rejects anything else in `# escape=`).
    public init(escape: Character = "\\") {
        self.escapeCharacter = escape
        self.escape = escape.unicodeScalars.first ?? "\\"
    }

    /// Expands quotes, escapes and variables in `raw`, keeping white space: the result is one word.
    ///
    /// Used for values that are one argument (a COPY source, an ENV value, a WORKDIR).
    /// - Parameters:
    ///   - raw: the text as written in the Dockerfile, quotes included.
    ///   - env: the variables in scope (ENV of the stage and the ARGs declared so far).
    /// - Throws: `BerthError.invalidArgument` for an unterminated quote, a bad `${…}` or a `${NAME:?…}` whose
    ///   variable is unset, worded as buildkit: `failed to process "${X:?}": X: is not allowed to be unset`.
    public func expandWord(_ raw: String, env: [String: String]) throws(BerthError) -> String {
        try process(raw, env: env).word
    }

    /// Expands `raw` like `expandWord(_:env:)`, then splits the result at white space that was not quoted or
    /// escaped. A variable's value is split too (`$PORTS` with `80 443` gives two words); quoted text, even
    /// empty (`""`), is kept together with what touches it, and a word that ends up empty is dropped.
    /// - Returns: the words, possibly none.
    /// - Throws: as `expandWord(_:env:)`.
    public func expandWords(_ raw: String, env: [String: String]) throws(BerthError) -> [String] {
        try process(raw, env: env).words
    }

    func process(_ raw: String, env: [String: String]) throws(BerthError) -> (word: String, words: [String]) {
        var processor = ShellWordProcessor(lex: self, env: env, input: raw.scalars)
        do {
            let (word, words) = try processor.processStopOn(nil, rawEscapes: rawEscapes)
            return (String(scalars: word), words)
        } catch {
            throw .invalidArgument("failed to process \(raw.goQuoted): \(error.message)")
        }
    }
}

/// Accumulates the words of `ShellLex.expandWords`: characters that came from a variable split at white space,
/// literal and quoted characters do not.
struct WordCollector {
    var word: Scalars = []
    var words: [String] = []
    var inWord = false

    mutating func addChar(_ c: Unicode.Scalar) {
        if c.isSpace {
            guard inWord, !word.isEmpty else { return }
            words.append(String(scalars: word))
            word = []
            inWord = false
        } else {
            addRawChar(c)
        }
    }

    mutating func addRawChar(_ c: Unicode.Scalar) {
        word.append(c)
        inWord = true
    }

    mutating func addString(_ s: Scalars) {
        for c in s { addChar(c) }
    }

    mutating func addRawString(_ s: Scalars) {
        word.append(contentsOf: s)
        inWord = true
    }

    mutating func finish() -> [String] {
        if !word.isEmpty {
            words.append(String(scalars: word))
            word = []
            inWord = false
        }
        return words
    }
}

/// One run of the lexer over one input.
struct ShellWordProcessor {
    let lex: ShellLex
    let env: [String: String]
    let input: Scalars
    var position = 0
    var rawEscapes = false

    init(lex: ShellLex, env: [String: String], input: Scalars) {
        self.lex = lex
        self.env = env
        self.input = input
        self.rawEscapes = lex.rawEscapes
    }

    func peek() -> Unicode.Scalar? { position < input.count ? input[position] : nil }

    mutating func next() -> Unicode.Scalar? {
        guard position < input.count else { return nil }
        position += 1
        return input[position - 1]
    }

    /// Processes up to `stop` (consumed) or the end of the input.
    /// - Throws: when `stop` is given and never found.
    mutating func processStopOn(
        _ stop: Unicode.Scalar?, rawEscapes: Bool
    ) throws(BerthError) -> (Scalars, [String]) {
        let saved = self.rawEscapes
        self.rawEscapes = rawEscapes
        defer { self.rawEscapes = saved }
        var result: Scalars = []
        var words = WordCollector()
        while let c = peek() {
            if let stop, c == stop {
                position += 1
                return (result, words.finish())
            }
            if c == "$" {
                let value = try processDollar()
                result.append(contentsOf: value)
                words.addString(value)
                continue
            }
            if !lex.skipProcessQuotes, c == "'" || c == "\"" {
                let value = c == "'" ? try processSingleQuote() : try processDoubleQuote()
                result.append(contentsOf: value)
                words.addRawString(value)
                continue
            }
            position += 1
            var ch = c
            if ch == lex.escape {
                if self.rawEscapes {
                    words.addRawChar(ch)
                    result.append(ch)
                }
                guard let escaped = next() else { break }
                ch = escaped
                words.addRawChar(ch)
            } else {
                words.addChar(ch)
            }
            result.append(ch)
        }
        if let stop {
            throw .invalidArgument("unexpected end of statement while looking for matching \(stop)")
        }
        return (result, words.finish())
    }

    mutating func processSingleQuote() throws(BerthError) -> Scalars {
        var result: Scalars = []
        position += 1
        if lex.rawQuotes { result.append("'") }
        while true {
            guard let c = next() else {
                throw .invalidArgument("unexpected end of statement while looking for matching single-quote")
            }
            if c == "'" {
                if lex.rawQuotes { result.append(c) }
                return result
            }
            result.append(c)
        }
    }

    mutating func processDoubleQuote() throws(BerthError) -> Scalars {
        var result: Scalars = []
        position += 1
        if lex.rawQuotes { result.append("\"") }
        while true {
            guard let c = peek() else {
                throw .invalidArgument("unexpected end of statement while looking for matching double-quote")
            }
            if c == "\"" {
                position += 1
                if lex.rawQuotes { result.append(c) }
                return result
            }
            if c == "$" {
                result.append(contentsOf: try processDollar())
                continue
            }
            position += 1
            var ch = c
            if ch == lex.escape {
                if rawEscapes { result.append(ch) }
                guard let following = peek() else { continue }
                if following == "\"" || following == "$" || following == lex.escape {
                    ch = following
                    position += 1
                }
            }
            result.append(ch)
        }
    }
}
