import BerthBuild
import BerthCore
import Testing

/// Reading the text: directives, comments, continuations, line ends, stages.
struct DockerfileParserTests {
    @Test func multistageFixture() throws {
        let dockerfile = try Dockerfile.parse(try Fixtures.read("multistage.Dockerfile"))
        #expect(dockerfile.syntax == "docker/dockerfile:1")
        #expect(dockerfile.escapeCharacter == "\\")
        #expect(
            dockerfile.metaArgs.map(\.kind) == [
                .arg([ArgDefinition(name: "GO_VERSION", defaultValue: "1.22")]),
                .arg([ArgDefinition(name: "BASE", defaultValue: "alpine:3.20")]),
            ])
        #expect(dockerfile.stages.map(\.name) == ["build", "runtime"])
        #expect(dockerfile.stages.map(\.index) == [0, 1])
        #expect(dockerfile.stages[0].baseImage == "golang:${GO_VERSION}")
        #expect(dockerfile.stages[0].platform == "$BUILDPLATFORM")
        #expect(dockerfile.stages[1].baseImage == "${BASE}")
        #expect(dockerfile.stage(named: "RUNTIME")?.index == 1)
        #expect(dockerfile.instructions.count == 16)

        let build = dockerfile.stages[0].instructions
        #expect(build.map(\.keyword) == ["WORKDIR", "COPY", "RUN", "COPY", "RUN"])
        #expect(build.map(\.line) == [7, 8, 9, 13, 14])
        #expect(build[2].endLine == 11)
        #expect(build[2].original == "RUN --mount=type=cache,target=/root/.cache     go mod download")
        #expect(build[2].kind == .run(.shell("go mod download")))
        #expect(build[2].flagValues("mount") == ["type=cache,target=/root/.cache"])

        let runtime = dockerfile.stages[1].instructions
        #expect(runtime.map(\.keyword) == ["LABEL", "COPY", "EXPOSE", "HEALTHCHECK", "USER", "ENTRYPOINT", "CMD"])
        #expect(
            runtime[0].kind
                == .label([
                    KeyValuePair(key: "org.opencontainers.image.title", value: "\"app\""),
                    KeyValuePair(key: "version", value: "\"1.0\""),
                ]))
        #expect(runtime[5].kind == .entrypoint(.exec(["/usr/local/bin/app"])))
        #expect(runtime[6].kind == .cmd(.exec(["--port", "8080"])))
    }

    /// The reference's Windows example: with `` ` `` as escape character, a trailing `\` is an ordinary
    /// character and `` ` `` continues the line.
    @Test func backtickEscapeDirective() throws {
        let dockerfile = try Dockerfile.parse(try Fixtures.read("windows-escape.Dockerfile"))
        #expect(dockerfile.escapeCharacter == "`")
        let steps = dockerfile.stages[0].instructions
        #expect(steps.map(\.keyword) == ["SHELL", "COPY", "RUN", "ADD", "RUN"])
        #expect(steps[0].kind == .shell(["powershell", "-command"]))
        guard case .copy(let copy) = steps[1].kind else { throw BerthError.internalError("not COPY") }
        #expect(copy.sources == ["testfile.txt"])
        #expect(copy.destination == #"c:\"#)
        #expect(steps[2].kind == .run(.shell(#"New-Item -ItemType Directory C:\Example"#)))
        #expect(steps[4].kind == .run(.shell("Write-Host     'hello world'")))
        #expect(steps[4].line == 8)
        #expect(steps[4].escapeCharacter == "`")
    }

    /// Without the directive, the same `c:\` lines would be joined; an escaped escape (`c:\\`) does not continue.
    @Test func backslashContinuationAndEscapedBackslash() throws {
        let joined = try Fixtures.instructions("COPY testfile.txt c:\\\nRUN dir c:\n")
        #expect(joined.count == 1)
        #expect(joined[0].original == "COPY testfile.txt c:RUN dir c:")
        let separate = try Fixtures.instructions("COPY testfile.txt c:\\\\\nRUN dir c:\\\\\n")
        #expect(separate.map(\.keyword) == ["COPY", "RUN"])
    }

    @Test func directivesAreOnlyReadAtTheTop() throws {
        let spaced = try Dockerfile.parse("#  SYNTAX = example/frontend  \n#\tescape= `\nFROM a\nRUN x `\n  y\n")
        #expect(spaced.syntax == "example/frontend")
        #expect(spaced.escapeCharacter == "`")
        #expect(spaced.stages[0].instructions[0].kind == .run(.shell("x   y")))

        // After a comment, a blank line or an unknown directive, `# escape=` is a comment.
        for prefix in ["# about this file\n", "\n", "# unknown=value\n", "FROM a\n"] {
            let parsed = try Dockerfile.parse(prefix + "# escape=`\nFROM b\nRUN c \\\n d\n")
            #expect(parsed.escapeCharacter == "\\", "after \(prefix.debugDescription)")
            #expect(parsed.stages.last?.instructions.last?.kind == .run(.shell("c  d")))
        }
    }

    @Test func commentsAndBlankLinesInsideContinuations() throws {
        let text = """
            FROM busybox
              RUN echo hello \\
            # comment
                world \\

              # indented comment
              again
            RUN echo "#not a comment" # nor this
            """
        let steps = try Dockerfile.parse(text).stages[0].instructions
        #expect(steps.count == 2)
        #expect(steps[0].original == "RUN echo hello     world   again")
        #expect(steps[0].line == 2)
        #expect(steps[0].endLine == 7)
        #expect(steps[1].kind == .run(.shell(##"echo "#not a comment" # nor this"##)))
        #expect(steps[1].line == 8)
    }

    @Test func continuationAllowsTrailingWhitespaceAndEndsAtEndOfFile() throws {
        let steps = try Fixtures.instructions("RUN a \\  \t\n  b \\\n")
        #expect(steps[0].kind == .run(.shell("a   b")))
        #expect(steps[0].endLine == 3)
    }

    @Test func crlfAndByteOrderMark() throws {
        let text = "\u{FEFF}# escape=`\r\nFROM alpine\r\nRUN echo a `\r\n  b\r\nENV k=v\r\n"
        let dockerfile = try Dockerfile.parse(text)
        #expect(dockerfile.escapeCharacter == "`")
        let steps = dockerfile.stages[0].instructions
        #expect(steps[0].kind == .run(.shell("echo a   b")))
        #expect(steps[1].kind == .env([KeyValuePair(key: "k", value: "v")]))
        #expect(steps[1].line == 5)
    }

    @Test func keywordsAreCaseInsensitiveAndOriginalIsKept() throws {
        let dockerfile = try Dockerfile.parse("from Busybox as Base\n  run   echo  hi  \nCmd [\"sh\"]\n")
        let from = dockerfile.stages[0].from
        #expect(from.keyword == "FROM")
        #expect(from.original == "from Busybox as Base")
        #expect(from.kind == .from(image: "Busybox", stageName: "base", platform: nil))
        let run = dockerfile.stages[0].instructions[0]
        #expect(run.keyword == "RUN")
        #expect(run.original == "run   echo  hi")
        #expect(run.kind == .run(.shell("echo  hi")))
        #expect(dockerfile.stages[0].instructions[1].kind == .cmd(.exec(["sh"])))
    }

    @Test func metaArgsAndStages() throws {
        let text = """
            ARG VERSION=latest
            ARG A B=2
            FROM busybox:$VERSION
            ARG VERSION
            FROM --platform=linux/arm64 alpine AS second
            FROM second
            """
        let dockerfile = try Dockerfile.parse(text)
        #expect(dockerfile.metaArgs.count == 2)
        #expect(
            dockerfile.metaArgs[1].kind
                == .arg([ArgDefinition(name: "A"), ArgDefinition(name: "B", defaultValue: "2")]))
        #expect(dockerfile.stages.map(\.name) == [nil, "second", nil])
        #expect(dockerfile.stages[0].instructions.map(\.kind) == [.arg([ArgDefinition(name: "VERSION")])])
        #expect(dockerfile.stages[1].platform == "linux/arm64")
        #expect(dockerfile.stages[1].from.flag("platform") == "linux/arm64")
        #expect(dockerfile.stages[2].baseImage == "second")
    }
}
