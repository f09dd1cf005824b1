import BerthBuild
import BerthCore
import Testing

/// Variable expansion, against the reference's examples and buildkit's lexer behaviour.
struct ShellLexTests {
    private let lex = ShellLex()
    private let env = ["abc": "hello", "empty": "", "PORTS": "80 443", "path": "/usr/local/bin/tool.tar.gz"]

    private func word(_ raw: String) throws -> String { try lex.expandWord(raw, env: env) }
    private func words(_ raw: String) throws -> [String] { try lex.expandWords(raw, env: env) }

    @Test func variables() throws {
        #expect(try word("$abc") == "hello")
        #expect(try word("${abc}") == "hello")
        #expect(try word("def=$abc") == "def=hello")
        #expect(try word("${abc}_world $abc-x") == "hello_world hello-x")
        #expect(try word("$unset|${unset}") == "|")
        #expect(try word("cost: $5 and $") == "cost:  and $")
        #expect(try word("a$") == "a$")
        #expect(try word("$abc1 ${abc}1") == " hello1")
    }

    @Test func defaultsAndAlternatives() throws {
        #expect(try word("${abc:-word}") == "hello")
        #expect(try word("${unset:-word}") == "word")
        #expect(try word("${empty:-word}") == "word")
        #expect(try word("${empty-word}") == "")
        #expect(try word("${unset-word}") == "word")
        #expect(try word("${abc:+word}") == "word")
        #expect(try word("${empty:+word}") == "")
        #expect(try word("${empty+word}") == "word")
        #expect(try word("${unset+word}") == "")
        #expect(try word("${unset:-${abc}}") == "hello")
        #expect(try word("${unset:-${also:-deep $abc}}") == "deep hello")
        #expect(try word("${abc:?must be set}") == "hello")
        #expect(try word("${unset:-'single $abc'}") == "single $abc")
    }

    @Test func requiredVariables() throws {
        expectError("${unset:?}", #"failed to process "${unset:?}": unset: is not allowed to be unset"#)
        expectError("${empty:?}", #"failed to process "${empty:?}": empty: is not allowed to be empty"#)
        expectError("${unset?where is it}", #"failed to process "${unset?where is it}": unset: where is it"#)
        #expect(try word("${empty?}") == "")
    }

    @Test func patternRemovalAndReplacement() throws {
        #expect(try word("${path#*/}") == "usr/local/bin/tool.tar.gz")
        #expect(try word("${path##*/}") == "tool.tar.gz")
        #expect(try word("${path%.*}") == "/usr/local/bin/tool.tar")
        #expect(try word("${path%%.*}") == "/usr/local/bin/tool")
        #expect(try word("${abc/l/L}") == "heLlo")
        #expect(try word("${abc//l/L}") == "heLLo")
        #expect(try word("${abc/x/y}") == "hello")
        #expect(try word("${path/usr/opt}") == "/opt/local/bin/tool.tar.gz")
        #expect(try word("${path/\\/usr\\//}") == "local/bin/tool.tar.gz")
        #expect(try word("${unset#x}") == "")
    }

    @Test func quotesAndEscapes() throws {
        #expect(try word(#"\$abc"#) == "$abc")
        #expect(try word(#"'$abc'"#) == "$abc")
        #expect(try word(#""$abc""#) == "hello")
        #expect(try word(#""\$abc \"q\" \\ \n""#) == #"$abc "q" \ \n"#)
        #expect(try word(#"'it''s'"#) == "its")
        #expect(try word(#"a\ b\\c\"d"#) == #"a b\c"d"#)
        #expect(try word(#"trailing\"#) == "trailing")
        #expect(try word(#""it's" 'say "hi"'"#) == #"it's say "hi""#)
        #expect(try word("  keeps  spaces ") == "  keeps  spaces ")
    }

    @Test func backtickEscapeCharacter() throws {
        let windows = ShellLex(escape: "`")
        #expect(try windows.expandWord(#"c:\path\$abc `$abc"#, env: env) == #"c:\path\hello $abc"#)
        #expect(try windows.expandWord(#""a `"b`" \""#, env: env) == #"a "b" \"#)
        #expect(windows.escapeCharacter == "`")
    }

    @Test func wordSplitting() throws {
        #expect(try words("a  b\tc") == ["a", "b", "c"])
        #expect(try words("$PORTS 8080") == ["80", "443", "8080"])
        #expect(try words("\"$PORTS\" x") == ["80 443", "x"])
        #expect(try words(#"one\ word "two words" '' x"#) == ["one word", "two words", "x"])
        #expect(try words("pre${PORTS}post") == ["pre80", "443post"])
        #expect(try words("$unset") == [])
        #expect(try words("   ") == [])
    }

    @Test func syntaxErrors() {
        expectError(
            "'open", #"failed to process "'open": unexpected end of statement while looking for matching single-quote"#)
        expectError(
            "\"open",
            #"failed to process "\"open": unexpected end of statement while looking for matching double-quote"#)
        expectError("${abc", #"failed to process "${abc": syntax error: missing '}'"#)
        expectError("${abc:-x", #"failed to process "${abc:-x": syntax error: missing '}'"#)
        expectError("${}", #"failed to process "${}": syntax error: bad substitution"#)
        expectError("${:-x}", #"failed to process "${:-x}": syntax error: bad substitution"#)
        expectError("${abc!x}", #"failed to process "${abc!x}": unsupported modifier (!) in substitution"#)
        expectError("${abc:=x}", #"failed to process "${abc:=x}": unsupported modifier (:=) in substitution"#)
        expectError("${abc/x", #"failed to process "${abc/x": syntax error: missing '/' in ${}"#)
    }

    private func expectError(_ raw: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let value = try lex.expandWord(raw, env: env)
            Issue.record("expanded to \(value.debugDescription)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .invalidArgument, sourceLocation: sourceLocation)
            #expect(error.message == message, sourceLocation: sourceLocation)
        }
    }
}
