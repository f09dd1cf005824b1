import BerthAPIClient
import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// `berth build` and `POST /build` on a real daemon: every instruction, stages, the cache, `.dockerignore`,
/// contexts on stdin, and the failures, each followed by a run of the image or a look at what was left.
@Suite(.serialized)
struct BuildTests {
    /// A context directory with `files` (path → content; a value starting with "->" makes a symlink).
    static func context(_ d: TestDaemon, _ name: String, _ files: [String: String]) throws -> String {
        let dir = d.root + "/" + name
        for (path, content) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if content.hasPrefix("->") {
                try FileManager.default.createSymbolicLink(
                    atPath: full, withDestinationPath: String(content.dropFirst(2)))
            } else {
                try content.write(toFile: full, atomically: true, encoding: .utf8)
            }
        }
        return dir
    }

    static func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// Every instruction, then the image is run and inspected.
    @Test func everyInstructionEndsUpInTheImage() async throws {
        try await TestDaemon.with { d in
            let tarDir = d.root + "/payload"
            try FileManager.default.createDirectory(atPath: tarDir + "/inner", withIntermediateDirectories: true)
            try "from the tar\n".write(toFile: tarDir + "/inner/t.txt", atomically: true, encoding: .utf8)
            let ctx = try Self.context(
                d, "ctx1",
                [
                    "Dockerfile": """
                    # syntax=docker/dockerfile:1
                    ARG BASE=busybox
                    FROM $BASE
                    ARG GREETING=hi
                    ENV APP=/app \\
                        MODE="a b"
                    WORKDIR $APP
                    WORKDIR sub
                    COPY msg.txt ./
                    COPY --chown=1:2 --chmod=750 dir/ /copied/
                    ADD payload.tar.gz /added/
                    ADD plain.txt /added/plain.txt
                    RUN echo "$GREETING $MODE" > /app/sub/run.txt && echo "run says $GREETING"
                    RUN <<EOF
                    echo heredoc-line > /app/heredoc.txt
                    EOF
                    COPY <<CONF /etc/app.conf
                    mode=$MODE
                    CONF
                    SHELL ["/bin/sh", "-c"]
                    USER 1:1
                    LABEL one=1 "two words"="2 2"
                    EXPOSE 8080 53/udp
                    VOLUME ["/data"]
                    STOPSIGNAL SIGINT
                    HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD test -f /app/sub/run.txt
                    ONBUILD RUN echo triggered > /tmp/onbuild
                    ENTRYPOINT ["sh", "-c"]
                    CMD ["cat /app/sub/msg.txt /app/sub/run.txt /app/heredoc.txt"]
                    """,
                    "msg.txt": "message\n", "dir/one.txt": "one\n", "dir/deeper/two.txt": "two\n",
                    "plain.txt": "not extracted\n",
                ])
            let tar = try run("/usr/bin/tar", ["-C", tarDir, "-czf", ctx + "/payload.tar.gz", "inner"])
            try #require(tar.status == 0, "\(tar.output)")
            var r = try CLITests.berth(
                d,
                ["build", "-t", "every:1", "-t", "every:2", "--label", "team=x", "--build-arg", "GREETING=hello", ctx])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.hasPrefix("Step 1/23 : ARG BASE=busybox\nStep 2/23 : FROM $BASE\n"), "\(r.stdout)")
            #expect(r.stdout.contains("Step 11/23 : RUN echo \"$GREETING $MODE\""))
            #expect(r.stdout.contains("run says hello\n"))
            #expect(r.stdout.contains(" ---> Running in ") && r.stdout.contains("Removing intermediate container "))
            #expect(r.stdout.contains("Successfully built "))
            #expect(r.stdout.hasSuffix("Successfully tagged every:1\nSuccessfully tagged every:2\n"), "\(r.stdout)")
            r = try CLITests.berth(d, ["run", "--rm", "every:1"])
            #expect(r.stdout == "message\nhello a b\nheredoc-line\n", "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(
                d,
                [
                    "run", "--rm", "--entrypoint", "sh", "every:1", "-c",
                    "pwd; id -u; ls -ln /copied /copied/deeper | grep txt; cat /added/inner/t.txt /added/plain.txt; echo $MODE; cat /etc/app.conf",
                ])
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "/app/sub" && lines.dropFirst().first == "1", "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("-rwxr-x---    1 1        2                4") && r.stdout.contains("one.txt"))
            #expect(r.stdout.contains("two.txt"))
            #expect(r.stdout.contains("from the tar\nnot extracted\na b\nmode=a b\n"), "\(r.stdout)")

            let config = try #require(try d.client.checked("GET", "/images/every:1/json").json?["Config"])
            #expect(config["Env"]?.stringArray?.contains("APP=/app") == true)
            #expect(config["Env"]?.stringArray?.contains("MODE=a b") == true)
            #expect(config["Env"]?.stringArray?.contains { $0.hasPrefix("GREETING") } == false, "ARGs stay out")
            #expect(config["WorkingDir"]?.stringValue == "/app/sub")
            #expect(config["User"]?.stringValue == "1:1")
            #expect(config["Labels"]?["two words"]?.stringValue == "2 2")
            #expect(config["Labels"]?["team"]?.stringValue == "x", "--label")
            let tags = try d.client.checked("GET", "/images/every:2/json").json?["RepoTags"]?.stringArray
            #expect(tags?.sorted() == ["every:1", "every:2"])
            #expect(config["ExposedPorts"]?["8080/tcp"] != nil && config["ExposedPorts"]?["53/udp"] != nil)
            #expect(config["Volumes"]?["/data"] != nil)
            #expect(config["StopSignal"]?.stringValue == "SIGINT")
            #expect(config["Healthcheck"]?["Test"]?.stringArray == ["CMD-SHELL", "test -f /app/sub/run.txt"])
            #expect(config["Healthcheck"]?["Interval"]?.int64Value == 30_000_000_000)
            #expect(config["Healthcheck"]?["Retries"]?.intValue == 2)
            #expect(config["OnBuild"]?.stringArray == ["RUN echo triggered > /tmp/onbuild"])
            #expect(config["Entrypoint"]?.stringArray == ["sh", "-c"])
            #expect(config["Shell"]?.stringArray == ["/bin/sh", "-c"])
            let history = try d.client.checked("GET", "/images/every:1/history").json?.arrayValue ?? []
            let runRow = history.first {
                $0["CreatedBy"]?.stringValue?.contains("|1 GREETING=hello /bin/sh -c echo") == true
            }
            // Images the build made and the base are still here: their rows show their IDs, as Docker's do.
            #expect(runRow?["Id"]?.stringValue?.hasPrefix("sha256:") == true, "\(history)")
            let base = try d.client.checked("GET", "/images/busybox/json").json?["Id"]?.stringValue
            #expect(history.last?["Id"]?.stringValue == base, "\(history)")

            // ONBUILD runs in a child image, right after its FROM.
            let child = try Self.context(d, "child", ["Dockerfile": "FROM every:1\nRUN cat /tmp/onbuild\n"])
            r = try CLITests.berth(d, ["build", "-t", "child:1", child])
            #expect(r.status == 0 && r.stdout.contains("# Executing 1 build trigger"), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("triggered\n"))
            let childConfig = try d.client.checked("GET", "/images/child:1/json").json?["Config"]
            #expect(childConfig?["OnBuild"]?.isNull ?? true, "triggers are not inherited")
            // Nothing is left running or stopped by the builds.
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )
        }
    }

    /// Stages: `--from` by name and index, `--target` stops at a stage (whose ONBUILD-free config shows).
    @Test func multiStageWithFromAndTarget() async throws {
        try await TestDaemon.with { d in
            let ctx = try Self.context(
                d, "ctx2",
                [
                    "Dockerfile": """
                    FROM busybox AS first
                    RUN echo built-in-first > /first.txt
                    FROM busybox AS second
                    COPY --from=first /first.txt /from-first.txt
                    ONBUILD RUN true
                    FROM scratch
                    COPY --from=0 /first.txt /
                    COPY --from=second /from-first.txt /again.txt
                    COPY --from=busybox /bin/busybox /bin/busybox
                    CMD ["/bin/busybox", "cat", "/first.txt", "/again.txt"]
                    """
                ])
            var r = try CLITests.berth(d, ["build", "-t", "multi:1", ctx])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "multi:1"])
            #expect(r.stdout == "built-in-first\nbuilt-in-first\n", "\(r.stdout) \(r.stderr)")
            let layers = try d.client.checked("GET", "/images/multi:1/json").json?["RootFS"]?["Layers"]?.arrayValue
            #expect(layers?.count == 3, "FROM scratch: only the three COPY layers")

            r = try CLITests.berth(d, ["build", "-t", "multi:first", "--target", "first", ctx])
            #expect(r.status == 0 && r.stdout.contains("Step 2/2 : RUN"), "\(r.stdout)")
            let config = try d.client.checked("GET", "/images/multi:first/json").json?["Config"]
            #expect(config?["OnBuild"]?.isNull ?? true)
            r = try CLITests.berth(d, ["build", "--target", "nosuch", ctx])
            #expect(r.status != 0 && r.stderr.contains("failed to reach build target nosuch"), "\(r.stderr)")
        }
    }

    /// An unchanged rebuild uses the cache for every step and gives the same image; a changed file misses from
    /// its COPY on; a changed build argument misses from the RUN that sees it; `--no-cache` uses none;
    /// `--cache-from` only what leads to the named images.
    @Test func theLayerCache() async throws {
        try await TestDaemon.with { d in
            let ctx = try Self.context(
                d, "ctx3",
                [
                    "Dockerfile": """
                    FROM busybox
                    ENV FOO=bar
                    RUN echo first > /first
                    COPY data.txt /data.txt
                    ARG X=1
                    RUN echo "$X" > /x
                    CMD ["cat", "/data.txt"]
                    """,
                    "data.txt": "v1\n",
                ])
            var r = try CLITests.berth(d, ["build", "-t", "cache:1", ctx])
            #expect(r.status == 0 && Self.count(r.stdout, "Using cache") == 0, "\(r.stdout) \(r.stderr)")
            let first = try #require(try d.client.checked("GET", "/images/cache:1/json").json?["Id"]?.stringValue)
            r = try CLITests.berth(d, ["build", "-t", "cache:1", ctx])
            #expect(Self.count(r.stdout, " ---> Using cache") == 6, "\(r.stdout)")
            #expect(!r.stdout.contains("Running in"))
            #expect(try d.client.checked("GET", "/images/cache:1/json").json?["Id"]?.stringValue == first)

            try "v2\n".write(toFile: ctx + "/data.txt", atomically: true, encoding: .utf8)
            r = try CLITests.berth(d, ["build", "-t", "cache:2", ctx])
            #expect(Self.count(r.stdout, "Using cache") == 2, "ENV and the first RUN: \(r.stdout)")
            #expect(try CLITests.berth(d, ["run", "--rm", "cache:2"]).stdout == "v2\n")
            r = try CLITests.berth(d, ["build", "-t", "cache:3", "--build-arg", "X=2", ctx])
            #expect(Self.count(r.stdout, "Using cache") == 4, "up to the ARG: \(r.stdout)")
            #expect(r.stdout.contains("Running in"))
            r = try CLITests.berth(d, ["build", "--no-cache", ctx])
            #expect(Self.count(r.stdout, "Using cache") == 0)

            // --cache-from: the tagged image's own chain is trusted, an unknown image gives no cache at all.
            r = try CLITests.berth(d, ["build", "-t", "cache:4", "--cache-from", "cache:2", ctx])
            #expect(Self.count(r.stdout, "Using cache") == 6, "\(r.stdout)")
            r = try CLITests.berth(d, ["build", "--cache-from", "nosuch:image", ctx])
            #expect(Self.count(r.stdout, "Using cache") == 0, "\(r.stdout)")
        }
    }

    /// `.dockerignore`: excluded files never reach the image (nor the daemon), an exception brings one back.
    @Test func dockerignore() async throws {
        try await TestDaemon.with { d in
            let ctx = try Self.context(
                d, "ctx4",
                [
                    "Dockerfile": "FROM busybox\nCOPY . /ctx/\nCMD [\"find\", \"/ctx\", \"-type\", \"f\"]\n",
                    ".dockerignore": "# comment\n*.log\nsecrets\n**/tmp*\n!keep.log\n",
                    "a.txt": "a", "debug.log": "x", "keep.log": "k", "secrets/key": "s", "sub/tmpfile": "t",
                    "sub/real.txt": "r",
                ])
            var r = try CLITests.berth(d, ["build", "-t", "ignore:1", ctx])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "ignore:1"])
            let files = Set(r.stdout.split(separator: "\n").map(String.init))
            #expect(
                files == ["/ctx/Dockerfile", "/ctx/.dockerignore", "/ctx/a.txt", "/ctx/keep.log", "/ctx/sub/real.txt"],
                "\(r.stdout)")
        }
    }

    /// A Dockerfile on stdin (no context) and a context tar on stdin; `-f` naming a file outside the context.
    @Test func contextsFromStdinAndDockerfilesElsewhere() async throws {
        try await TestDaemon.with { d in
            var r = try CLITests.berth(
                d, ["build", "-t", "stdin:1", "-"],
                stdin: "FROM busybox\nRUN echo from-stdin > /s\nCMD [\"cat\", \"/s\"]\n")
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try CLITests.berth(d, ["run", "--rm", "stdin:1"]).stdout == "from-stdin\n")

            let ctx = try Self.context(d, "ctx5", ["f.txt": "in the tar\n"])
            try "FROM busybox\nCOPY f.txt /\nCMD [\"cat\", \"/f.txt\"]\n".write(
                toFile: d.root + "/Elsewhere.Dockerfile", atomically: true, encoding: .utf8)
            r = try CLITests.berth(d, ["build", "-t", "elsewhere:1", "-f", d.root + "/Elsewhere.Dockerfile", ctx])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(try CLITests.berth(d, ["run", "--rm", "elsewhere:1"]).stdout == "in the tar\n")

            try "FROM busybox\nCOPY f.txt /\nCMD [\"cat\", \"/f.txt\"]\n".write(
                toFile: ctx + "/Dockerfile", atomically: true, encoding: .utf8)
            let tar = try run("/usr/bin/tar", ["-C", ctx, "-cf", d.root + "/ctx5.tar", "."])
            try #require(tar.status == 0)
            let bytes = try String(
                decoding: Data(contentsOf: URL(fileURLWithPath: d.root + "/ctx5.tar")), as: UTF8.self)
            _ = bytes
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
            p.arguments = ["-H", "unix://\(d.socketPath)", "build", "-q", "-t", "tarstdin:1", "-"]
            p.standardInput = FileHandle(forReadingAtPath: d.root + "/ctx5.tar")
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let id = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0 && id.hasPrefix("sha256:"), "\(id)")
            r = try CLITests.berth(d, ["run", "--rm", "tarstdin:1"])
            #expect(r.stdout == "in the tar\n", "\(r.stdout) \(r.stderr)")
        }
    }

    /// Each failure is a clear error naming what failed; no container is left and the tag is not set.
    @Test func failuresAreClearAndLeaveNothing() async throws {
        try await TestDaemon.with { d in
            let cases: [(String, [String: String], String)] = [
                ("FROM busybox\nFOO bar\n", [:], "dockerfile parse error on line 2: unknown instruction: FOO"),
                ("FROM busybox\nCOPY --nope=1 a /\n", ["a": "a"], "unknown flag: nope"),
                ("FROM busybox\nCOPY ../outside /x\n", [:], "forbidden path outside the build context: ../outside"),
                ("FROM busybox\nCOPY missing.txt /x\n", [:], "file not found in build context"),
                ("FROM busybox\nCOPY *.nothing /x/\n", [:], "no source files were specified"),
                (
                    "FROM busybox\nCOPY link /x\n", ["link": "->/etc/passwd"],
                    "forbidden path outside the build context: link -> /etc/passwd"
                ),
                (
                    "FROM busybox\nCOPY up /x\n", ["up": "->../../../etc/shadow"],
                    "forbidden path outside the build context"
                ),
                (
                    "FROM busybox\nCOPY a b /notadir\n", ["a": "a", "b": "b"],
                    "the destination must be a directory and end with a /"
                ),
                ("FROM nosuch-image-here\n", [:], "nosuch-image-here"),
                ("FROM busybox\nRUN --mount=type=cache,target=/c true\n", [:], "the --mount option requires BuildKit"),
                (
                    "FROM busybox\nRUN echo before; exit 7\n", [:],
                    "The command '/bin/sh -c echo before; exit 7' returned a non-zero code: 7"
                ),
            ]
            for (i, (dockerfile, files, message)) in cases.enumerated() {
                var all = files
                all["Dockerfile"] = dockerfile
                let ctx = try Self.context(d, "bad\(i)", all)
                let r = try CLITests.berth(d, ["build", "-t", "bad:\(i)", ctx])
                #expect(r.status != 0, "\(dockerfile)")
                #expect(r.stderr.contains(message), "\(dockerfile): \(r.stderr)")
                #expect(try d.client.call("GET", "/images/bad:\(i)/json").status == 404)
            }
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )

            // Through the API: the failing RUN's exit code is errorDetail.code, after the step's output.
            let ctx = try Self.context(d, "apifail", ["Dockerfile": "FROM busybox\nRUN echo out; exit 3\n"])
            let tarPath = d.root + "/apifail.tar"
            _ = try run("/usr/bin/tar", ["-C", ctx, "-cf", tarPath, "Dockerfile"])
            let body = Array(try Data(contentsOf: URL(fileURLWithPath: tarPath)))
            let response = try d.client.call("POST", "/build", query: [("t", "apifail:1")], body: body)
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(response.status == 200)
            #expect(text.contains(#"{"stream":"out\n"}"#), "\(text)")
            let last = try JSONValue.parse(text.split(separator: "\n").last.map(String.init) ?? "")
            #expect(last["errorDetail"]?["code"]?.intValue == 3, "\(text)")
        }
    }

    /// `--network`: RUN containers of a build join the named network (none: only loopback); by default the
    /// daemon's default network.
    @Test func theBuildNetwork() async throws {
        try await TestDaemon.with { d in
            let ctx = try Self.context(
                d, "net", ["Dockerfile": "FROM busybox\nRUN ls /sys/class/net | tr -d '\\n'; echo\n"])
            var r = try CLITests.berth(d, ["build", "--no-cache", "--network", "none", ctx])
            #expect(r.status == 0 && r.stdout.contains("\nlo\n"), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["build", "--no-cache", ctx])
            #expect(r.status == 0 && r.stdout.contains("\neth0lo\n"), "\(r.stdout) \(r.stderr)")
        }
    }

    /// The Lua `build` hook sees each build's result (its ID and tags) and failures.
    @Test func theBuildHookFires() async throws {
        let d = try TestDaemon()
        defer { d.cleanUp() }
        try d.writeConfig("hooks = { dir = \"\(d.hooksDir)\", scripts = { [\"00-build.lua\"] = { io = true } } },")
        try d.writeHook(
            "00-build.lua",
            """
            return { build = function(e)
              local f = assert(io.open(berth.config.root .. "/../builds.log", "a"))
              f:write(e.id or ("error: " .. e.error), " ", table.concat(e.tags or {}, ","), "\\n")
              f:close()
            end }
            """)
        try d.start()
        _ = try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        let ctx = try Self.context(d, "hooked", ["Dockerfile": "FROM busybox\nRUN true\n"])
        var r = try CLITests.berth(d, ["build", "-t", "hooked:1", "-t", "hooked:2", ctx])
        #expect(r.status == 0, "\(r.stderr)")
        let id = try #require(try d.client.checked("GET", "/images/hooked:1/json").json?["Id"]?.stringValue)
        let bad = try Self.context(d, "hookfail", ["Dockerfile": "FROM busybox\nRUN exit 4\n"])
        r = try CLITests.berth(d, ["build", bad])
        #expect(r.status != 0)
        var log = ""
        for _ in 0..<100 {
            log = (try? String(contentsOfFile: d.root + "/builds.log", encoding: .utf8)) ?? ""
            if log.split(separator: "\n").count >= 2 { break }
            usleep(50_000)
        }
        #expect(log.hasPrefix("\(id) hooked:1,hooked:2\n"), "\(log)")
        #expect(log.contains("error: The command '/bin/sh -c exit 4' returned a non-zero code: 4"), "\(log)")
    }
}
