import BerthBuild
import BerthCore
import Testing

/// The typed arguments of each instruction.
struct DockerfileInstructionTests {
    private func kind(_ line: String) throws -> InstructionKind { try Fixtures.instruction(line).kind }

    @Test func execAndShellForms() throws {
        #expect(
            try kind(#"RUN ["apt-get", "install", "-y", "curl"]"#) == .run(.exec(["apt-get", "install", "-y", "curl"])))
        #expect(
            try kind("RUN apt-get update && apt-get install -y curl")
                == .run(.shell("apt-get update && apt-get install -y curl")))
        #expect(try kind(#"CMD ["echo", "$HOME"]"#) == .cmd(.exec(["echo", "$HOME"])))
        #expect(try kind(#"ENTRYPOINT [ "top", "-b" ]"#) == .entrypoint(.exec(["top", "-b"])))
        #expect(
            try kind(#"CMD ["/bin/sh", "-c", "echo \"quoted\" \u00e9"]"#)
                == .cmd(.exec(["/bin/sh", "-c", "echo \"quoted\" é"])))
        #expect(try kind("CMD []") == .cmd(.exec([])))
        #expect(try kind("CMD") == .cmd(.shell("")))
        #expect(try kind("RUN") == .run(.shell("")))
        // Invalid JSON falls back to the shell form, as Docker does.
        #expect(try kind(#"CMD [ "a", ]"#) == .cmd(.shell(#"[ "a", ]"#)))
        #expect(try kind("ENTRYPOINT ['single', 'quotes']") == .entrypoint(.shell("['single', 'quotes']")))
        #expect(try kind(#"RUN ["a"] && b"#) == .run(.shell(#"["a"] && b"#)))
        #expect(
            try kind("SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]")
                == .shell(["/bin/bash", "-o", "pipefail", "-c"]))
    }

    @Test func runFlagsAreKept() throws {
        let run = try Fixtures.instruction(
            "RUN --network=none --mount=type=secret,id=npm --mount=type=cache,target=/c --security=insecure make")
        #expect(run.kind == .run(.shell("make")))
        #expect(run.flag("network") == "none")
        #expect(run.flag("security") == "insecure")
        #expect(run.flagValues("mount") == ["type=secret,id=npm", "type=cache,target=/c"])
        #expect(run.flags.map(\.name) == ["network", "mount", "mount", "security"])
        // Flags end at the first word not starting with `--`; a lone `--` ends them too.
        #expect(try kind("RUN -- --network=none") == .run(.shell("--network=none")))
        #expect(try kind(#"RUN --mount="type=bind,source=a b" ls"#) == .run(.shell("ls")))
        #expect(
            try Fixtures.instruction(#"RUN --mount="type=bind,source=a b" ls"#).flag("mount") == "type=bind,source=a b")
    }

    @Test func copyAndAdd() throws {
        let copy = try kind("COPY --from=build --chown=1:1 --chmod=755 --link src/ \"a b\" $DIR/")
        #expect(
            copy
                == .copy(
                    FileTransfer(
                        sources: ["src/", "\"a b\""], destination: "$DIR/", from: "build", chown: "1:1", chmod: "755",
                        link: true)))
        #expect(
            try kind(#"COPY ["with space.txt", "/dest dir/"]"#)
                == .copy(
                    FileTransfer(
                        sources: ["with space.txt"], destination: "/dest dir/", isJSONForm: true)))
        #expect(
            try kind("COPY --link=false --exclude=*.tmp --exclude=.git . /app")
                == .copy(
                    FileTransfer(
                        sources: ["."], destination: "/app", excludes: ["*.tmp", ".git"])))
        #expect(
            try kind("add --chown=app --checksum=sha256:abc https://example.com/a.tgz /tmp/")
                == .add(
                    FileTransfer(
                        sources: ["https://example.com/a.tgz"], destination: "/tmp/", chown: "app",
                        checksum: "sha256:abc")))
        #expect(try Fixtures.instruction("ADD --keep-git-dir git@host:repo.git /src").flag("keep-git-dir") == "true")
        #expect(try Fixtures.instruction("COPY --parents a/b ./").flag("parents") == "true")
    }

    @Test func envLegacyAndPairForms() throws {
        #expect(try kind("ENV myName John Doe") == .env([KeyValuePair(key: "myName", value: "John Doe")]))
        #expect(try kind(#"ENV myDog Rex\ The\ Dog"#) == .env([KeyValuePair(key: "myDog", value: #"Rex\ The\ Dog"#)]))
        #expect(
            try kind(#"ENV MY_NAME="John Doe" MY_DOG=Rex\ The\ Dog MY_CAT=fluffy"#)
                == .env([
                    KeyValuePair(key: "MY_NAME", value: "\"John Doe\""),
                    KeyValuePair(key: "MY_DOG", value: #"Rex\ The\ Dog"#),
                    KeyValuePair(key: "MY_CAT", value: "fluffy"),
                ]))
        #expect(
            try kind("ENV abc=bye def=$abc empty=")
                == .env([
                    KeyValuePair(key: "abc", value: "bye"), KeyValuePair(key: "def", value: "$abc"),
                    KeyValuePair(key: "empty", value: ""),
                ]))
        #expect(
            try kind("ENV a=b=c 'x y'=z")
                == .env([
                    KeyValuePair(key: "a", value: "b=c"), KeyValuePair(key: "'x y'", value: "z"),
                ]))
    }

    /// The reference's LABEL examples: quotes, an escaped newline inside a quoted value, several per line.
    @Test func labels() throws {
        let text = """
            LABEL "com.example.vendor"="ACME Incorporated"
            LABEL com.example.label-with-value="foo"
            LABEL version="1.0"
            LABEL description="This text illustrates \\
            that label-values can span multiple lines."
            LABEL multi.label1="value1" multi.label2="value2" other="value3"
            LABEL legacy form value
            """
        let labels = try Fixtures.instructions(text).map(\.kind)
        #expect(
            labels == [
                .label([KeyValuePair(key: "\"com.example.vendor\"", value: "\"ACME Incorporated\"")]),
                .label([KeyValuePair(key: "com.example.label-with-value", value: "\"foo\"")]),
                .label([KeyValuePair(key: "version", value: "\"1.0\"")]),
                .label([
                    KeyValuePair(
                        key: "description",
                        value: "\"This text illustrates that label-values can span multiple lines.\"")
                ]),
                .label([
                    KeyValuePair(key: "multi.label1", value: "\"value1\""),
                    KeyValuePair(key: "multi.label2", value: "\"value2\""),
                    KeyValuePair(key: "other", value: "\"value3\""),
                ]),
                .label([KeyValuePair(key: "legacy", value: "form value")]),
            ])
    }

    @Test func argsExposeVolumeAndSimpleValues() throws {
        #expect(
            try kind("ARG user1=someuser buildno=1 plain empty=")
                == .arg([
                    ArgDefinition(name: "user1", defaultValue: "someuser"),
                    ArgDefinition(name: "buildno", defaultValue: "1"),
                    ArgDefinition(name: "plain"), ArgDefinition(name: "empty", defaultValue: ""),
                ]))
        #expect(
            try kind(#"ARG MSG="hello world""#) == .arg([ArgDefinition(name: "MSG", defaultValue: "\"hello world\"")]))
        #expect(try kind("EXPOSE 80/tcp 80/udp   $PORT") == .expose(["80/tcp", "80/udp", "$PORT"]))
        #expect(try kind(#"VOLUME ["/data", " /logs "]"#) == .volume(["/data", "/logs"]))
        #expect(try kind("VOLUME /var/log /var/db") == .volume(["/var/log", "/var/db"]))
        #expect(try kind("WORKDIR /path/to/$DIRNAME") == .workdir("/path/to/$DIRNAME"))
        #expect(try kind("USER patrick:staff") == .user("patrick:staff"))
        #expect(try kind("STOPSIGNAL SIGKILL") == .stopSignal("SIGKILL"))
        #expect(try kind("MAINTAINER Jane Doe <jane@example.com>") == .maintainer("Jane Doe <jane@example.com>"))
    }

    @Test func healthchecks() throws {
        #expect(try kind("HEALTHCHECK NONE") == .healthcheck(Healthcheck(test: ["NONE"])))
        #expect(try kind("healthcheck none") == .healthcheck(Healthcheck(test: ["NONE"])))
        let check = try kind(
            "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=4 \\\n"
                + "  CMD curl -f http://localhost/ || exit 1")
        #expect(
            check
                == .healthcheck(
                    Healthcheck(
                        test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval: 300_000_000_000,
                        timeout: 3_000_000_000, startPeriod: 90_000_000_000, startInterval: 500_000_000, retries: 4)))
        #expect(
            try kind(#"HEALTHCHECK CMD ["/bin/check", "--quick"]"#)
                == .healthcheck(
                    Healthcheck(
                        test: ["CMD", "/bin/check", "--quick"])))
        #expect(
            try kind("HEALTHCHECK --interval=0s cmd true") == .healthcheck(Healthcheck(test: ["CMD-SHELL", "true"])))
        #expect(Healthcheck(test: ["NONE"]).isDisabled)
    }

    @Test func onbuildHoldsOneInstruction() throws {
        let onbuild = try Fixtures.instruction("ONBUILD   add --chown=1 . /app/src")
        guard case .onbuild(let trigger, let expression) = onbuild.kind else { throw BerthError.internalError("kind") }
        #expect(expression == "add --chown=1 . /app/src")
        #expect(trigger.keyword == "ADD")
        #expect(trigger.line == 2)
        #expect(trigger.flag("chown") == "1")
        #expect(trigger.kind == .add(FileTransfer(sources: ["."], destination: "/app/src", chown: "1")))
        #expect(
            try kind("ONBUILD RUN [\"make\"]")
                == .onbuild(
                    Instruction(
                        keyword: "RUN", line: 2, endLine: 2, original: "RUN [\"make\"]", kind: .run(.exec(["make"]))),
                    expression: "RUN [\"make\"]"))
    }
}
