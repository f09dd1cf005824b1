import BerthCore
import Testing

@testable import BerthCLI

/// The create body is compared with what the docker CLI 28.2.2 sent for the same flags (captured through
/// `docker-api-trace.py`), so berthd sees the same request from either client.
struct CreateBodyTests {
    static let files: [String: String] = [
        "/tmp/env.list": "A=1\n# c\nB\n",
        "/tmp/sec.json": "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": []\n}\n",
    ]

    static func request(_ args: [String], command: String = "create", detach: Bool = false) throws -> CreateRequest {
        let options = try ContainerOptions.parse(args)
        return try options.createRequest(
            command: command, detach: detach, lookupEnv: { $0 == "B" ? "1" : nil },
            readFile: { (path: String) throws(CLIError) -> [UInt8] in
                guard let text = files[path] else { throw CLIError("open \(path): no such file or directory") }
                return Array(text.utf8)
            })
    }

    static func error(_ args: [String], command: String = "run") -> CLIError? {
        do {
            _ = try request(args, command: command)
            return nil
        } catch let error as CLIError {
            return error
        } catch {
            return CLIError("\(error)")
        }
    }

    @Test func manyFlagsMatchTheDockerCLI() throws {
        let r = try Self.request([
            "--name", "goldenx", "-e", "FOO=bar", "--env-file", "/tmp/env.list", "-w", "/data", "-u", "0:0", "-h",
            "caph", "-l", "a=b", "-l", "c", "--entrypoint", "/bin/sh", "-m", "64m", "--memory-swap", "-1", "--cpus",
            "0.5", "-c", "512", "--cpuset-cpus", "0", "--pids-limit", "100", "--cap-add", "NET_ADMIN", "--cap-drop",
            "MKNOD", "--security-opt", "seccomp=/tmp/sec.json", "--security-opt", "no-new-privileges", "--read-only",
            "--network", "none", "--ulimit", "nofile=1024:2048", "--stop-signal", "SIGTERM", "--stop-timeout", "5",
            "-i", "-t", "--rm", "busybox", "-c", "echo hi",
        ])
        let golden = try Fixtures.read("Golden/create-body-many-flags.json").trimmingSpaces
        #expect(r.body.serialized == golden)
        #expect(r.image == "busybox")
        #expect(r.query.map { "\($0.0)=\($0.1)" } == ["name=goldenx"])
    }

    @Test func noFlagsMatchTheDockerCLI() throws {
        let r = try Self.request(["busybox", "true"])
        #expect(r.body.serialized == (try Fixtures.read("Golden/create-body-defaults.json").trimmingSpaces))
        #expect(r.query.isEmpty)
    }

    @Test func detachAttachesNothing() throws {
        let r = try Self.request(["-i", "busybox", "cat"], command: "run", detach: true)
        #expect(r.body["AttachStdin"] == .bool(false))
        #expect(r.body["AttachStdout"] == .bool(false))
        #expect(r.body["AttachStderr"] == .bool(false))
        #expect(r.body["OpenStdin"] == .bool(true))
        #expect(r.body["StdinOnce"] == .bool(false))
    }

    @Test func attachFlagPicksStreams() throws {
        let r = try Self.request(["-a", "stderr", "busybox"])
        #expect(r.body["AttachStdout"] == .bool(false))
        #expect(r.body["AttachStderr"] == .bool(true))
        #expect(
            Self.error(["-a", "bogus", "busybox"])?.message.contains("valid streams are STDIN, STDOUT and STDERR")
                == true)
    }

    @Test func emptyEntrypointResetsTheImages() throws {
        let r = try Self.request(["--entrypoint", "", "busybox"])
        #expect(r.body["Entrypoint"] == .strings([""]))
        #expect(r.body["Cmd"] == .null)
    }

    @Test func hostAndPlatformAndPrivileged() throws {
        let r = try Self.request(["--privileged", "--net", "host", "--platform", "linux/amd64", "busybox", "id"])
        #expect(r.body["HostConfig"]?["Privileged"] == .bool(true))
        #expect(r.body["HostConfig"]?["NetworkMode"] == .string("host"))
        #expect(r.body["NetworkingConfig"] == .object([("EndpointsConfig", .object([]))]))
        #expect(r.query.map { "\($0.0)=\($0.1)" } == ["platform=linux/amd64"])
    }

    @Test func restartPolicy() throws {
        let r = try Self.request(["--restart", "on-failure:3", "busybox"])
        #expect(
            r.body["HostConfig"]?["RestartPolicy"]
                == .object([("Name", .string("on-failure")), ("MaximumRetryCount", .int(3))]))
        #expect(
            Self.error(["--restart", "always", "--rm", "busybox"])?.message == "Conflicting options: --restart and --rm"
        )
        #expect(Self.error(["--restart", "always:2", "busybox"]) != nil)
    }

    @Test func badMemoryIsAUsageError() {
        let e = Self.error(["-m", "12zz", "busybox"])
        #expect(e?.message == #"invalid argument "12zz" for "-m, --memory" flag: invalid size: '12zz'"#)
        #expect(e?.exitCode == 125)
        #expect(
            e?.rendered == """
                invalid argument "12zz" for "-m, --memory" flag: invalid size: '12zz'

                Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]

                Run 'berth run --help' for more information
                """)
    }

    @Test func otherFlagErrors() {
        #expect(
            Self.error(["--memory-swap", "x", "busybox"])?.message
                == #"invalid argument "x" for "--memory-swap" flag: invalid size: 'x'"#)
        #expect(
            Self.error(["--cpus", "0.0000000001", "busybox"])?.message
                == #"invalid argument "0.0000000001" for "--cpus" flag: value is too precise"#)
        #expect(
            Self.error(["--ulimit", "bogus=1", "busybox"])?.message
                == #"invalid argument "bogus=1" for "--ulimit" flag: invalid ulimit type: bogus"#)
        #expect(
            Self.error(["-e", "=x", "busybox"])?.message
                == #"invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x"#)
        #expect(
            Self.error(["--pull", "sometimes", "busybox"])?.message
                == #"invalid pull option: 'sometimes': must be one of "always", "missing" or "never""#)
        #expect(
            Self.error(["--security-opt", "seccomp=/nope.json", "busybox"])?.message
                == "opening seccomp profile (/nope.json) failed: open /nope.json: no such file or directory")
        #expect(Self.error(["--security-opt", "bogus", "busybox"])?.message == #"Invalid --security-opt: "bogus""#)
        #expect(Self.error([])?.message == "'berth run' requires at least 1 argument")
        #expect(
            Self.error(["--bogus", "busybox"])?.rendered.hasPrefix("unknown flag: --bogus\n\nUsage:  berth run") == true
        )
    }

    @Test func runErrorsAreShownWithTheHelpHint() {
        let e = Self.error(["--pull", "x", "busybox"])
        #expect(e?.rendered.hasPrefix("berth: invalid pull option") == true)
        #expect(e?.rendered.hasSuffix("\n\nRun 'berth run --help' for more information") == true)
        #expect(e?.exitCode == 125)
    }

    @Test func startErrorsMapToDockerExitCodes() {
        let missing = Berth.Run.startError(
            CLIError(#"Error response from daemon: exec: "/x": stat /x: no such file or directory"#))
        #expect(missing.exitCode == 127)
        #expect(Berth.Run.startError(CLIError("exec: \"/etc\": permission denied")).exitCode == 126)
        #expect(Berth.Run.startError(CLIError("cgroup trouble")).exitCode == 125)
    }
}
