import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// The `berth` executable against a real daemon: the commands a user types, their output and exit codes.
@Suite(.serialized)
struct CLITests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// - Parameter home: `HOME` for the command (where `login` keeps credentials); the test's own otherwise.
    static func berth(_ d: TestDaemon, _ args: [String], stdin: String? = nil, home: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
        p.arguments = ["-H", "unix://\(d.socketPath)"] + args
        if let home {
            var env = ProcessInfo.processInfo.environment
            env["HOME"] = home
            p.environment = env
        }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func runPsLogsAndExitCodes() async throws {
        try await TestDaemon.with { d in
            var r = try Self.berth(d, ["run", "--rm", "busybox", "echo", "hello", "berth"])
            #expect(r.status == 0)
            #expect(r.stdout == "hello berth\n")
            r = try Self.berth(d, ["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(r.status == 3)
            #expect(r.stdout == "out\n" && r.stderr == "err\n")
            r = try Self.berth(d, ["run", "--rm", "-i", "busybox", "cat"], stdin: "piped\n")
            #expect(r.stdout == "piped\n")
            r = try Self.berth(d, ["run", "--rm", "busybox", "/no/such"])
            #expect(r.status == 127)
            #expect(r.stderr.contains("no such file or directory"))
            r = try Self.berth(d, ["run", "--rm", "-m", "12zz", "busybox", "true"])
            #expect(r.status == 125)
            #expect(r.stderr.contains("invalid argument \"12zz\""))
            r = try Self.berth(
                d, ["run", "-d", "--name", "web", "-l", "k=v", "busybox", "sh", "-c", "echo up; sleep 30"])
            #expect(r.status == 0 && r.stdout.count == 65)
            r = try Self.berth(d, ["ps", "--filter", "label=k=v", "--format", "{{.Names}} {{.State}}"])
            #expect(r.stdout == "web running\n")
            usleep(200_000)
            r = try Self.berth(d, ["logs", "web"])
            #expect(r.stdout == "up\n")
            r = try Self.berth(d, ["stop", "-t", "1", "web"])
            #expect(r.stdout == "web\n")
            r = try Self.berth(d, ["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"])
            #expect(r.stdout == "exited 137\n")
            r = try Self.berth(d, ["rm", "web"])
            #expect(r.status == 0)
            r = try Self.berth(d, ["rm", "web"])
            #expect(r.status == 1 && r.stderr.contains("No such container: web"))
            r = try Self.berth(d, ["ps", "-a", "-q"])
            #expect(r.stdout.isEmpty)
            r = try Self.berth(d, ["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(r.stdout == "busybox:latest\n")
        }
    }

    @Test func networkCommandsAndPort() async throws {
        try await TestDaemon.with { d in
            let created = try Self.berth(
                d, ["network", "create", "--subnet", "10.213.66.0/24", "--label", "a=b", "clinet"])
            #expect(created.status == 0 && created.stdout.count == 65)
            let ls = try Self.berth(d, ["network", "ls"])
            #expect(ls.stdout.hasPrefix("NETWORK ID     NAME      DRIVER    SCOPE\n"))
            #expect(ls.stdout.contains("clinet    bridge    local"))
            let inspect = try Self.berth(d, ["network", "inspect", "-f", "{{.Name}} {{.Labels}}", "clinet"])
            #expect(inspect.stdout == "clinet map[a:b]\n")
            let run = try Self.berth(
                d, ["run", "-d", "--name", "pub9", "-p", "127.0.0.1::80", "busybox", "sleep", "30"])
            #expect(run.status == 0)
            let port = try Self.berth(d, ["port", "pub9"])
            #expect(port.stdout.hasPrefix("80/tcp -> 127.0.0.1:"), "\(port.stdout) \(port.stderr)")
            #expect(try Self.berth(d, ["network", "connect", "--alias", "x9", "clinet", "pub9"]).status == 0)
            #expect(try Self.berth(d, ["network", "disconnect", "clinet", "pub9"]).status == 0)
            _ = try Self.berth(d, ["rm", "-f", "pub9"])
            #expect(try Self.berth(d, ["network", "rm", "clinet"]).stdout == "clinet\n")
            let missing = try Self.berth(d, ["network", "rm", "clinet"])
            #expect(missing.status != 0 && missing.stderr.contains("network clinet not found"))
        }
    }
}

/// The container management commands of `berth` against a real daemon.
@Suite(.serialized)
struct CLIManageTests {
    @Test func topStatsPauseDiffCommitRenameUpdateAndPrune() async throws {
        try await TestDaemon.with { d in
            let run = try CLITests.berth(
                d, ["run", "-d", "--name", "cm1", "busybox", "sh", "-c", "echo x > /tmp/f; sleep 60"])
            #expect(run.status == 0)
            usleep(300_000)
            var r = try CLITests.berth(d, ["top", "cm1", "-o", "pid,comm"])
            #expect(r.stdout.hasPrefix("PID") && r.stdout.contains("sleep"))
            r = try CLITests.berth(d, ["stats", "--no-stream", "cm1"])
            #expect(r.stdout.contains("MEM USAGE / LIMIT") && r.stdout.contains("cm1"))
            r = try CLITests.berth(d, ["pause", "cm1"])
            #expect(r.status == 0)
            #expect(try CLITests.berth(d, ["ps", "--format", "{{.Status}}"]).stdout.contains("(Paused)"))
            #expect(try CLITests.berth(d, ["unpause", "cm1"]).status == 0)
            r = try CLITests.berth(d, ["diff", "cm1"])
            #expect(r.stdout == "C /tmp\nA /tmp/f\n")
            r = try CLITests.berth(d, ["commit", "-m", "note", "-c", "ENV Z=1", "cm1", "cmimg:v1"])
            #expect(r.status == 0 && r.stdout.hasPrefix("sha256:"))
            r = try CLITests.berth(d, ["run", "--rm", "cmimg:v1", "sh", "-c", "cat /tmp/f; echo $Z"])
            #expect(r.stdout == "x\n1\n")
            #expect(try CLITests.berth(d, ["rename", "cm1", "cm2"]).status == 0)
            r = try CLITests.berth(d, ["update", "--memory", "100m", "--pids-limit", "30", "cm2"])
            #expect(r.status == 0 && r.stdout == "cm2\n")
            let host = try d.client.checked("GET", "/containers/cm2/json").json?["HostConfig"]
            #expect(host?["Memory"]?.intValue == 100 << 20 && host?["PidsLimit"]?.intValue == 30)
            #expect(try CLITests.berth(d, ["update", "--memory", "1k", "cm2"]).status != 0)
            #expect(try CLITests.berth(d, ["exec", "cm2", "true"]).status == 0)
            _ = try CLITests.berth(d, ["rm", "-f", "cm2"])
            // Prunes: stopped containers, then unused images.
            _ = try CLITests.berth(d, ["run", "--name", "stopped1", "busybox", "true"])
            r = try CLITests.berth(d, ["container", "prune", "-f"])
            #expect(r.stdout.contains("Deleted Containers:"))
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )
            r = try CLITests.berth(d, ["image", "prune", "-f", "-a"])
            #expect(r.stdout.contains("untagged: cmimg:v1"))
            r = try CLITests.berth(d, ["system", "df"])
            #expect(r.stdout.hasPrefix("TYPE") && r.stdout.contains("Local Volumes"))
        }
    }

    /// `berth cp` both ways with Docker's path rules: into a directory, to a new name, a directory's contents.
    @Test func copyBothWays() async throws {
        try await TestDaemon.with { d in
            _ = try CLITests.berth(
                d,
                [
                    "run", "-d", "--name", "cpx", "busybox", "sh", "-c",
                    "mkdir -p /d/e; echo y > /d/e/y; echo f > /f; sleep 60",
                ])
            usleep(300_000)
            let host = d.root + "/cp"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            #expect(try CLITests.berth(d, ["cp", "cpx:/f", host + "/g"]).status == 0)
            #expect(try String(contentsOfFile: host + "/g", encoding: .utf8) == "f\n")
            #expect(try CLITests.berth(d, ["cp", "cpx:/d", host]).status == 0)
            #expect(try String(contentsOfFile: host + "/d/e/y", encoding: .utf8) == "y\n")
            #expect(try CLITests.berth(d, ["cp", "cpx:/d/.", host + "/copy"]).status == 0)
            #expect(FileManager.default.fileExists(atPath: host + "/copy/e/y"))
            try "from host\n".write(toFile: host + "/h", atomically: true, encoding: .utf8)
            #expect(try CLITests.berth(d, ["cp", host + "/h", "cpx:/tmp/"]).status == 0)
            #expect(try CLITests.berth(d, ["cp", host + "/h", "cpx:/tmp/renamed"]).status == 0)
            #expect(
                try CLITests.berth(d, ["exec", "cpx", "cat", "/tmp/h", "/tmp/renamed"]).stdout
                    == "from host\nfrom host\n")
            #expect(
                try CLITests.berth(d, ["cp", host + "/d", "cpx:/f"]).stderr.contains(
                    "cannot copy a directory to a file"))
            let missing = try CLITests.berth(d, ["cp", "cpx:/nonexist", host + "/x"])
            #expect(missing.status != 0 && missing.stderr.contains("Could not find the file /nonexist"))
            _ = try CLITests.berth(d, ["rm", "-f", "cpx"])
        }
    }
}
