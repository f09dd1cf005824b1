import BerthBuild
import BerthCore
import Testing

/// `Instruction.resolved(env:)`: what the builder gets once variables are known.
struct InstructionResolveTests {
    private func resolve(_ line: String, _ env: [String: String]) throws -> InstructionKind {
        try Fixtures.instruction(line).resolved(env: env)
    }

    /// The reference's example: all values of one ENV see the environment from before it.
    @Test func envUsesTheEnvironmentBeforeTheInstruction() throws {
        #expect(
            try resolve("ENV abc=bye def=$abc", ["abc": "hello"])
                == .env([
                    KeyValuePair(key: "abc", value: "bye"), KeyValuePair(key: "def", value: "hello"),
                ]))
        #expect(
            try resolve("ENV ghi=$abc", ["abc": "bye", "def": "hello"])
                == .env([
                    KeyValuePair(key: "ghi", value: "bye")
                ]))
        #expect(
            try resolve(#"ENV MY_NAME="John Doe" MY_DOG=Rex\ The\ Dog"#, [:])
                == .env([
                    KeyValuePair(key: "MY_NAME", value: "John Doe"), KeyValuePair(key: "MY_DOG", value: "Rex The Dog"),
                ]))
        #expect(
            try resolve("ENV legacy  value with  spaces", [:])
                == .env([
                    KeyValuePair(key: "legacy", value: "value with  spaces")
                ]))
    }

    /// The reference's `${variable:-word}` / `${variable:+word}` and escaping examples.
    @Test func referenceExamples() throws {
        let env = ["FOO": "/bar"]
        #expect(try resolve("WORKDIR ${FOO}", env) == .workdir("/bar"))
        #expect(try resolve(#"ADD . $FOO"#, env) == .add(FileTransfer(sources: ["."], destination: "/bar")))
        #expect(try resolve(#"COPY \$FOO /quux"#, env) == .copy(FileTransfer(sources: ["$FOO"], destination: "/quux")))
        #expect(
            try resolve("LABEL a=${FOO:-word} b=${UNSET:-word} c=${FOO:+word} d=${UNSET:+word}x", env)
                == .label([
                    KeyValuePair(key: "a", value: "/bar"), KeyValuePair(key: "b", value: "word"),
                    KeyValuePair(key: "c", value: "word"), KeyValuePair(key: "d", value: "x"),
                ]))
        #expect(
            try resolve(#"LABEL "com.example.vendor"="ACME Incorporated" q='$FOO'"#, env)
                == .label([
                    KeyValuePair(key: "com.example.vendor", value: "ACME Incorporated"),
                    KeyValuePair(key: "q", value: "$FOO"),
                ]))
    }

    @Test func fromCopyAndFlags() throws {
        let env = ["VERSION": "3.20", "PLATFORM": "linux/arm64", "STAGE": "build", "UID": "1000"]
        #expect(
            try Dockerfile.parse("FROM --platform=$PLATFORM alpine:${VERSION} AS base").stages[0].from
                .resolved(env: env) == .from(image: "alpine:3.20", stageName: "base", platform: "linux/arm64"))
        let copy = try resolve(
            #"COPY --from=$STAGE --chown=$UID:$UID --exclude=*.$VERSION "a b" src/$STAGE /app/"#, env)
        #expect(
            copy
                == .copy(
                    FileTransfer(
                        sources: ["a b", "src/build"], destination: "/app/", from: "build", chown: "1000:1000",
                        excludes: ["*.3.20"])))
        #expect(
            try resolve(#"COPY ["$STAGE dir", "/x"]"#, env)
                == .copy(
                    FileTransfer(
                        sources: ["build dir"], destination: "/x", isJSONForm: true)))
    }

    @Test func argsUserStopSignalExposeAndVolume() throws {
        let env = ["NAME": "app", "PORTS": "80 443/udp", "SIG": "TERM", "DIR": "/data"]
        #expect(
            try resolve("ARG A=$NAME B", env)
                == .arg([
                    ArgDefinition(name: "A", defaultValue: "app"), ArgDefinition(name: "B"),
                ]))
        #expect(try resolve("USER ${NAME}:${NAME}", env) == .user("app:app"))
        #expect(try resolve("STOPSIGNAL SIG$SIG", env) == .stopSignal("SIGTERM"))
        #expect(try resolve("EXPOSE $PORTS 8080", env) == .expose(["80", "443/udp", "8080"]))
        #expect(try resolve("VOLUME $DIR ${DIR}/logs", env) == .volume(["/data", "/data/logs"]))
        #expect(try resolve(#"VOLUME ["$DIR"]"#, env) == .volume(["/data"]))
    }

    @Test func commandsAreNotExpanded() throws {
        let env = ["A": "x"]
        for line in [
            "RUN echo $A", "CMD echo $A", #"ENTRYPOINT ["echo", "$A"]"#, "HEALTHCHECK CMD echo $A",
            #"SHELL ["sh", "$A"]"#, "ONBUILD RUN echo $A", "MAINTAINER $A",
        ] {
            let instruction = try Fixtures.instruction(line)
            #expect(try instruction.resolved(env: env) == instruction.kind, "for \(line)")
        }
    }

    @Test func heredocBodiesExpandUnlessTheNameIsQuoted() throws {
        let env = ["NAME": "world"]
        let copy = try Fixtures.instruction("COPY <<a <<'b' /dir/\nhello \"$NAME\" \\$NAME\na\nhello $NAME\nb\n")
        guard case .copy(let transfer) = try copy.resolved(env: env) else { throw BerthError.internalError("kind") }
        #expect(transfer.inlineSources.map(\.content) == ["hello \"world\" $NAME\n", "hello $NAME\n"])
    }

    @Test func backtickEscapedDockerfile() throws {
        let dockerfile = try Dockerfile.parse("# escape=`\nFROM a\nWORKDIR c:\\$DIR\\`$DIR\n")
        let workdir = dockerfile.stages[0].instructions[0]
        #expect(try workdir.resolved(env: ["DIR": "x"]) == .workdir(#"c:\x\$DIR"#))
        #expect(dockerfile.lexer.escapeCharacter == "`")
    }

    @Test func errorsNameTheLine() throws {
        let instruction = try Fixtures.instruction("ENV a=${REQUIRED:?missing}")
        do {
            _ = try instruction.resolved(env: [:])
            Issue.record("resolved without REQUIRED")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == #"line 2: failed to process "${REQUIRED:?missing}": REQUIRED: missing"#)
        }
        let volume = try Fixtures.instruction("VOLUME $EMPTY")
        #expect(throws: BerthError.self) { try volume.resolved(env: [:]) }
    }
}
