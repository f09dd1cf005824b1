import BerthBuild
import BerthCore
import Testing

/// Parse errors: Docker's wording, always with the line.
struct DockerfileErrorTests {
    static let stageNameRule = "name can't start with a number or contain symbols"
    static let noDestination =
        "requires at least two arguments, but only one was provided. Destination could not be determined"

    /// `text` after a `FROM scratch` line fails with `message` on line 2.
    private func expectLine2(_ text: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        Fixtures.expectParseError(
            "FROM scratch\n" + text, "dockerfile parse error on line 2: " + message, sourceLocation: sourceLocation)
    }

    @Test func wholeFileErrors() {
        Fixtures.expectParseError("", "dockerfile parse error: file with no instructions")
        Fixtures.expectParseError("# only a comment\n\n  \n", "dockerfile parse error: file with no instructions")
        Fixtures.expectParseError("ARG A\nARG B=1\n", "dockerfile parse error: dockerfile contains no stages to build")
        Fixtures.expectParseError(
            "ARG A\nLABEL a=b\nFROM x\n", "dockerfile parse error on line 2: no build stage in current context")
        Fixtures.expectParseError(
            "FROM a AS one\nFROM b AS One\n", "dockerfile parse error on line 2: duplicate stage name \"one\"")
    }

    @Test func directiveErrors() {
        Fixtures.expectParseError(
            "# escape=x\nFROM a\n", "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\")
        Fixtures.expectParseError(
            "# escape=`\n# ESCAPE=\\\nFROM a\n",
            "dockerfile parse error on line 2: only one escape parser directive can be used")
        // A directive cannot be continued: the comment ends and the next line is an instruction.
        Fixtures.expectParseError(
            "# direc \\\ntive=value\nFROM a\n", "dockerfile parse error on line 2: unknown instruction: TIVE=VALUE")
    }

    @Test func unknownInstruction() {
        Fixtures.expectParseError(
            "FROM a\nLABEL a=b\nfoo bar\n", "dockerfile parse error on line 3: unknown instruction: FOO")
        expectLine2("COPYY a b", "unknown instruction: COPYY")
        expectLine2("ONBUILD NOPE x", "unknown instruction: NOPE")
    }

    @Test func fromErrors() {
        Fixtures.expectParseError(
            "FROM\n", "dockerfile parse error on line 1: FROM requires either one or three arguments")
        Fixtures.expectParseError(
            "FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments")
        Fixtures.expectParseError(
            "FROM a AS b c\n", "dockerfile parse error on line 1: FROM requires either one or three arguments")
        Fixtures.expectParseError(
            "FROM a AS 1a\n",
            "dockerfile parse error on line 1: invalid name for build stage: \"1a\", " + Self.stageNameRule)
        Fixtures.expectParseError(
            "FROM a AS b@c\n",
            "dockerfile parse error on line 1: invalid name for build stage: \"b@c\", " + Self.stageNameRule)
    }

    @Test func missingArguments() {
        expectLine2("ENV", "ENV requires at least one argument")
        expectLine2("ENV a", "ENV must have two arguments")
        expectLine2("ENV =value", "ENV names can not be blank")
        expectLine2("ENV a=b c", "Syntax error - can't find = in \"c\". Must be of the form: name=value")
        expectLine2("LABEL", "LABEL requires at least one argument")
        expectLine2("LABEL onlykey", "LABEL must have two arguments")
        expectLine2("LABEL =x", "LABEL names can not be blank")
        expectLine2("ARG", "ARG requires at least one argument")
        expectLine2("ARG =x", "ARG names can not be blank")
        let copyMessage =
            "requires at least two arguments, but only one was provided. Destination could not be determined"
        expectLine2("COPY a", "COPY " + copyMessage)
        expectLine2("COPY", "COPY " + copyMessage)
        expectLine2("ADD [\"a\"]", "ADD " + copyMessage)
        for keyword in ["WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"] {
            expectLine2(keyword, "\(keyword) requires exactly one argument")
        }
        expectLine2("EXPOSE", "EXPOSE requires at least one argument")
        expectLine2("VOLUME", "VOLUME requires at least one argument")
        expectLine2("VOLUME []", "VOLUME requires at least one argument")
        expectLine2("VOLUME [\"/a\", \" \"]", "VOLUME specified can not be an empty string")
        expectLine2("ONBUILD", "ONBUILD requires at least one argument")
        expectLine2("SHELL", "SHELL requires at least one argument")
        expectLine2("SHELL []", "SHELL requires at least one argument")
        expectLine2("SHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form")
    }

    @Test func jsonArraysMustHoldStrings() {
        let message = "when using JSON array syntax, arrays must be comprised of strings only"
        expectLine2("CMD [1, 2]", message)
        expectLine2("RUN [\"a\", null]", message)
        expectLine2("COPY [\"a\", [\"b\"]]", message)
    }

    @Test func flagErrors() {
        expectLine2("COPY --nope a b", "unknown flag: nope")
        expectLine2("RUN --from=x ls", "unknown flag: from")
        expectLine2("ENV --x=1 a=b", "unknown flag: x")
        expectLine2("COPY --chown a b", "missing a value on flag: chown")
        expectLine2("COPY --link= a b", "missing a value on flag: link")
        expectLine2("COPY --link=maybe a b", "expecting boolean value for flag link, not: maybe")
        expectLine2("COPY --chown=1 --chown=2 a b", "duplicate flag specified: chown")
        expectLine2("ADD --from=x a b", "unknown flag: from")
    }

    @Test func healthcheckErrors() {
        expectLine2("HEALTHCHECK", "HEALTHCHECK requires at least one argument")
        expectLine2("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments")
        expectLine2("HEALTHCHECK foo x", "Unknown type \"FOO\" in HEALTHCHECK (try CMD)")
        expectLine2("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD")
        expectLine2("HEALTHCHECK CMD []", "Missing command after HEALTHCHECK CMD")
        expectLine2("HEALTHCHECK --interval=abc CMD x", "time: invalid duration \"abc\"")
        expectLine2("HEALTHCHECK --timeout=500us CMD x", "Interval \"timeout\" cannot be less than 1ms")
        expectLine2("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)")
        expectLine2("HEALTHCHECK --retries=x CMD x", "strconv.ParseInt: parsing \"x\": invalid syntax")
        expectLine2("HEALTHCHECK --every=1s CMD x", "unknown flag: every")
    }

    @Test func onbuildErrors() {
        expectLine2("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        expectLine2("ONBUILD from alpine", "FROM isn't allowed as an ONBUILD trigger")
        expectLine2("ONBUILD MAINTAINER me", "MAINTAINER isn't allowed as an ONBUILD trigger")
        expectLine2(
            "ONBUILD COPY a",
            "COPY " + Self.noDestination)
    }

    @Test func errorsNameTheLineWhereAContinuedInstructionStarts() {
        Fixtures.expectParseError(
            "FROM a\n\nRUN x \\\n  y\nCOPY \\\n  onlyone\n",
            "dockerfile parse error on line 5: COPY " + Self.noDestination)
    }
}
