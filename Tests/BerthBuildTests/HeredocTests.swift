import BerthBuild
import BerthCore
import Testing

/// Here-documents on RUN, COPY and ADD.
struct HeredocTests {
    @Test func heredocsFixture() throws {
        let steps = try Dockerfile.parse(try Fixtures.read("heredocs.Dockerfile")).stages[0].instructions
        #expect(steps.map(\.keyword) == ["RUN", "COPY", "RUN", "COPY", "CMD"])
        #expect(steps.map(\.line) == [2, 6, 10, 13, 18])
        #expect(steps.map(\.endLine) == [5, 9, 12, 17, 18])

        #expect(steps[0].kind == .run(.shell("<<EOF")))
        #expect(steps[0].heredocs == [Heredoc(name: "EOF", content: "apk add --no-cache curl\necho \"$HOME\"\n")])

        guard case .copy(let conf) = steps[1].kind else { throw BerthError.internalError("not COPY") }
        let chomped = Heredoc(name: "CONF", content: "key = $value\nindented\n", expands: false, chompTabs: true)
        #expect(conf == FileTransfer(sources: [], inlineSources: [chomped], destination: "/etc/app.conf"))
        #expect(steps[1].heredocs == [chomped])

        #expect(steps[2].kind == .run(.shell("python3 <<PY > /out.txt")))
        #expect(steps[2].heredocs.map(\.content) == ["print(\"hi\")\n"])

        guard case .copy(let two) = steps[3].kind else { throw BerthError.internalError("not COPY") }
        #expect(two.sources.isEmpty)
        #expect(two.inlineSources == [Heredoc(name: "a", content: "one\n"), Heredoc(name: "b", content: "two\n")])
        #expect(two.destination == "/dir/")
        #expect(steps[4].kind == .cmd(.exec(["cat", "/dir/a"])))
    }

    @Test func quotingTheNameDisablesExpansion() throws {
        let text = "RUN cat <<'A' <<\"B\" <<C <<x\"y\"z\n1\nA\n2\nB\n3\nC\n4\nxyz\n"
        let run = try Fixtures.instruction(text)
        #expect(run.heredocs.map(\.name) == ["A", "B", "C", "xyz"])
        #expect(run.heredocs.map(\.expands) == [false, false, true, false])
        #expect(run.heredocs.map(\.content) == ["1\n", "2\n", "3\n", "4\n"])
        #expect(run.endLine == 10)
    }

    @Test func fileDescriptorsAndChomping() throws {
        let run = try Fixtures.instruction("RUN 3<<-EOF cat /dev/fd/3\n\t\tindented\n\tEOF\n")
        #expect(
            run.heredocs == [
                Heredoc(name: "EOF", content: "indented\n", expands: true, chompTabs: true, fileDescriptor: 3)
            ])
        // Without `-`, a tab-indented terminator is content: the heredoc goes on to the real one.
        let plain = try Fixtures.instruction("RUN <<EOF\n\tEOF\nEOF\n")
        #expect(plain.heredocs.map(\.content) == ["\tEOF\n"])
    }

    @Test func crlfBodiesAndLastLineWithoutNewline() throws {
        let steps = try Fixtures.instructions("RUN <<EOF\r\nline one\r\nEOF\r\nCMD x")
        #expect(steps.map(\.keyword) == ["RUN", "CMD"])
        #expect(steps[0].heredocs.map(\.content) == ["line one\n"])
        let copy = try Dockerfile.parse("FROM a\nCOPY <<EOF /f\ntext\nEOF").stages[0].instructions[0]
        guard case .copy(let transfer) = copy.kind else { throw BerthError.internalError("not COPY") }
        #expect(transfer.inlineSources.map(\.content) == ["text\n"])
    }

    @Test func onlyRunCopyAndAddOutsideJSONHaveHeredocs() throws {
        let steps = try Fixtures.instructions(
            "RUN echo \"<<EOF\" '<<A' \\<<B\nRUN [\"cat\", \"<<EOF\"]\nCMD cat <<EOF\nENV a=<<EOF\n")
        #expect(steps.count == 4)
        #expect(steps.allSatisfy { $0.heredocs.isEmpty })
        #expect(steps[3].kind == .env([KeyValuePair(key: "a", value: "<<EOF")]))
    }

    @Test func onbuildTriggersCarryTheirHeredocs() throws {
        let onbuild = try Fixtures.instruction("ONBUILD RUN <<EOF\necho hi\nEOF\n")
        guard case .onbuild(let trigger, let expression) = onbuild.kind else { throw BerthError.internalError("kind") }
        #expect(trigger.heredocs == [Heredoc(name: "EOF", content: "echo hi\n")])
        #expect(expression == "RUN <<EOF\necho hi\nEOF")
        #expect(onbuild.endLine == 4)
    }

    @Test func unterminatedHeredocIsAnError() {
        Fixtures.expectParseError(
            "FROM a\nRUN <<EOF\necho\n", "dockerfile parse error on line 2: unterminated heredoc")
        Fixtures.expectParseError(
            "FROM a\nCOPY <<a <<b /d\none\na\n", "dockerfile parse error on line 2: unterminated heredoc")
        Fixtures.expectParseError(
            "FROM a\nCOPY src <<EOF\nx\nEOF\n",
            "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination")
    }
}
