import BerthCore
import Testing

@testable import BerthImage

struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "busybox", "latest", nil as String?),
        ("busybox:1.36", "busybox", "1.36", nil),
        ("docker.io/library/busybox:1.0", "busybox", "1.0", nil),
        ("index.docker.io/library/alpine", "alpine", "latest", nil),
        ("docker.io/myorg/app:v2", "myorg/app", "v2", nil),
        ("localhost:5000/a/b:v1", "localhost:5000/a/b", "v1", nil),
        ("localhost:5000/app", "localhost:5000/app", "latest", nil),
        ("localhost/app:dev", "localhost/app", "dev", nil),
        (
            "Registry.Example.com:443/team/app:Release_1.0-rc", "Registry.Example.com:443/team/app", "Release_1.0-rc",
            nil
        ),
    ])
    func normalizes(_ text: String, _ repository: String, _ tag: String, _ digest: String?) throws {
        let ref = try ImageReference(parsing: text)
        #expect(ref.repository == repository)
        #expect(ref.tag == tag)
        #expect(ref.digest == digest)
        #expect(ref.description == "\(repository):\(tag)")
    }

    @Test func digestReferences() throws {
        let hex = String(repeating: "ab", count: 32)
        let byDigest = try ImageReference(parsing: "busybox@sha256:\(hex)")
        #expect(byDigest.repository == "busybox")
        #expect(byDigest.tag == nil)
        #expect(byDigest.digest == "sha256:\(hex)")
        #expect(byDigest.description == "busybox@sha256:\(hex)")

        let both = try ImageReference(parsing: "localhost:5000/app:v1@sha256:\(hex)")
        #expect(both.repository == "localhost:5000/app")
        #expect(both.tag == "v1")
        #expect(both.digest == "sha256:\(hex)")
    }

    @Test func uppercaseRepositoryIsRejectedWithDockersMessage() {
        do {
            _ = try ImageReference(parsing: "BusyBox:latest")
            Issue.record("uppercase repository accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "invalid reference format: repository name (BusyBox) must be lowercase")
        }
    }

    @Test(arguments: [
        "", ":latest", "busybox:", "busybox:bad!tag", "busybox:" + String(repeating: "t", count: 129), "a//b",
        "/busybox", "busybox/", "bus box", "busybox:tag with space", "docker.io/library/", "ümlaut",
    ])
    func malformedReferencesAreRejected(_ text: String) {
        do {
            let ref = try ImageReference(parsing: text)
            Issue.record("'\(text)' parsed as \(ref)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("invalid reference format"))
        }
    }

    @Test func equalityIsOnTheNormalizedForm() throws {
        #expect(try ImageReference(parsing: "busybox") == ImageReference(parsing: "docker.io/library/busybox:latest"))
        #expect(try ImageReference(parsing: "busybox:1") != ImageReference(parsing: "busybox:2"))
    }
}

struct ConfigChangesTests {
    private func apply(_ lines: [String], to start: JSONValue = .object([])) throws(BerthError) -> JSONValue {
        var config = start
        for line in lines { try ConfigChanges.apply(line, to: &config) }
        return config
    }

    @Test func cmdAndEntrypointInBothForms() throws {
        let exec = try apply([#"CMD ["sh", "-c", "echo hi"]"#, #"ENTRYPOINT ["/init"]"#])
        #expect(exec["Cmd"]?.stringArray == ["sh", "-c", "echo hi"])
        #expect(exec["Entrypoint"]?.stringArray == ["/init"])

        let shell = try apply(["CMD echo $HOME && ls", "entrypoint /bin/run --flag"])
        #expect(shell["Cmd"]?.stringArray == ["/bin/sh", "-c", "echo $HOME && ls"])
        #expect(shell["Entrypoint"]?.stringArray == ["/bin/sh", "-c", "/bin/run --flag"])

        // Text that only looks like JSON is the shell form.
        #expect(try apply(["CMD [not json"])["Cmd"]?.stringArray == ["/bin/sh", "-c", "[not json"])
        // A later CMD replaces an earlier one.
        #expect(try apply(["CMD a", #"CMD ["b"]"#])["Cmd"]?.stringArray == ["b"])
    }

    @Test func envInBothFormsReplacesByName() throws {
        let start: JSONValue = .object([("Env", .strings(["PATH=/bin", "A=old"]))])
        let config = try apply(["ENV A=1 B=\"two words\" C='x=y'", "ENV LEGACY some value here"], to: start)
        #expect(config["Env"]?.stringArray == ["PATH=/bin", "A=1", "B=two words", "C=x=y", "LEGACY=some value here"])
        #expect(throws: BerthError.self) { try apply(["ENV ONLYNAME"]) }
        #expect(throws: BerthError.self) { try apply(["ENV =value"]) }
        #expect(throws: BerthError.self) { try apply(["LABEL a=1 =2"]) }
    }

    @Test func labelsWithQuotedValues() throws {
        let config = try apply([#"LABEL version="1.0" description="a b c" single='it is'"#, "LABEL plain=x"])
        #expect(
            config["Labels"]?.stringMap == ["version": "1.0", "description": "a b c", "single": "it is", "plain": "x"])
        #expect(config["Labels"]?.objectMembers.map(\.0) == ["version", "description", "single", "plain"])
        #expect(
            try apply(["LABEL maintainer someone@example.com"])["Labels"]?["maintainer"]
                == .string("someone@example.com"))
    }

    @Test func exposeVolumeWorkdirUserStopSignal() throws {
        let config = try apply([
            "EXPOSE 80 53/udp 443/tcp", #"VOLUME ["/data", "/logs"]"#, "VOLUME /cache /tmp/x", "WORKDIR /srv/app",
            "USER 1000:1000", "STOPSIGNAL SIGQUIT", "ONBUILD RUN make",
        ])
        #expect(config["ExposedPorts"]?.objectMembers.map(\.0) == ["80/tcp", "53/udp", "443/tcp"])
        #expect(config["ExposedPorts"]?["80/tcp"] == .object([]))
        #expect(config["Volumes"]?.objectMembers.map(\.0) == ["/data", "/logs", "/cache", "/tmp/x"])
        #expect(config["WorkingDir"] == .string("/srv/app"))
        #expect(config["User"] == .string("1000:1000"))
        #expect(config["StopSignal"] == .string("SIGQUIT"))
        #expect(config["OnBuild"]?.stringArray == ["RUN make"])
    }

    @Test func blankLinesAreIgnoredAndUnknownInstructionsThrow() throws {
        #expect(try apply(["", "   "]) == .object([]))
        for line in ["RUN echo hi", "FROM busybox", "ADD . /", "COPY a b", "HEALTHCHECK NONE"] {
            do {
                _ = try apply([line])
                Issue.record("\(line) accepted")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasSuffix("is not a valid change command"))
            }
        }
    }
}
