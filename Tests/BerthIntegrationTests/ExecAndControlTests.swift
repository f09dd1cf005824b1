import BerthAPIClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// exec, top, stats, pause, diff, commit and cp on real containers.
@Suite(.serialized)
struct ExecAndControlTests {
    static func readLink(_ path: String) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? ""
    }

    static func pid(_ d: TestDaemon, _ id: String) throws -> Int {
        try #require(try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Pid"]?.intValue)
    }

    /// An exec joins every namespace and the cgroup of the container, with its seccomp filter and capabilities;
    /// exit codes, -u, -e, -w, -d and --privileged behave as Docker's.
    @Test func execJoinsTheContainer() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sleep", "60"], config: [("Env", .strings(["FROM_IMAGE=1"]))], name: "ex1")
            try d.client.checked("POST", "/containers/\(id)/start")
            let pid = try Self.pid(d, id)
            let kinds = ["pid", "net", "mnt", "uts", "ipc"]
            let script =
                kinds.map { "readlink /proc/self/ns/\($0)" }.joined(separator: "; ")
                + "; grep Seccomp: /proc/self/status; grep CapBnd /proc/self/status; cat /proc/self/cgroup | grep memory; echo $FROM_IMAGE"
            var r = try CLITests.berth(d, ["exec", "ex1", "sh", "-c", script])
            #expect(r.status == 0)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            try #require(lines.count == kinds.count + 4)
            for (i, kind) in kinds.enumerated() {
                #expect(lines[i] == Self.readLink("/proc/\(pid)/ns/\(kind)"), "namespace \(kind)")
            }
            #expect(lines[kinds.count].hasSuffix("2"))  // a seccomp filter
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            #expect(status.contains(lines[kinds.count + 1]))  // the container's bounding set
            let cgroup = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            #expect(
                cgroup.split(separator: "\n").contains {
                    $0.hasSuffix(lines[kinds.count + 2].split(separator: ":").last ?? "?")
                })
            #expect(lines[kinds.count + 3] == "1")
            // The exit code passes through; user, environment and directory apply.
            r = try CLITests.berth(d, ["exec", "ex1", "sh", "-c", "exit 7"])
            #expect(r.status == 7)
            r = try CLITests.berth(
                d, ["exec", "-u", "nobody", "-e", "X=y", "-w", "/tmp", "ex1", "sh", "-c", "id -u; echo $X; pwd"])
            #expect(r.stdout == "65534\ny\n/tmp\n")
            // An unknown user fails in the exec'd process, before its go: the message still comes back.
            r = try CLITests.berth(d, ["exec", "-u", "nosuchuser", "ex1", "true"])
            #expect(r.status == 126)
            #expect(r.stdout.contains("unable to find user nosuchuser"))
            r = try CLITests.berth(d, ["exec", "-i", "ex1", "cat"], stdin: "through stdin\n")
            #expect(r.stdout == "through stdin\n")
            r = try CLITests.berth(d, ["exec", "ex1", "no-such-command"])
            #expect(r.status == 127)
            #expect(r.stdout.contains("executable file not found"))
            r = try CLITests.berth(d, ["exec", "--privileged", "ex1", "grep", "CapEff", "/proc/self/status"])
            let privileged = UInt64(r.stdout.split(separator: "\t").last?.trimmingSpaces ?? "", radix: 16) ?? 0
            #expect(privileged.nonzeroBitCount > 30)
            r = try CLITests.berth(d, ["exec", "-d", "ex1", "sh", "-c", "echo detached > /tmp/d"])
            #expect(r.status == 0 && r.stdout.isEmpty)
            var seen = ""
            for _ in 0..<20 where seen != "detached\n" {
                usleep(100_000)
                seen = try CLITests.berth(d, ["exec", "ex1", "cat", "/tmp/d"]).stdout
            }
            #expect(seen == "detached\n")
            // Through the API: an exec's inspect and the container's ExecIDs.
            let created = try d.client.checked(
                "POST", "/containers/\(id)/exec", body: Array("{\"Cmd\":[\"true\"],\"AttachStdout\":true}".utf8))
            let execID = try #require(created.json?["Id"]?.stringValue)
            #expect(
                try d.client.checked("GET", "/containers/\(id)/json").json?["ExecIDs"]?.stringArray?.contains(execID)
                    == true)
            try d.client.checked("POST", "/exec/\(execID)/start", body: Array("{\"Detach\":true}".utf8))
            var info: JSONValue? = nil
            for _ in 0..<50 {
                info = try d.client.checked("GET", "/exec/\(execID)/json").json
                if info?["Running"]?.boolValue == false, info?["ExitCode"]?.intValue != nil { break }
                usleep(50_000)
            }
            #expect(info?["ExitCode"]?.intValue == 0)
            #expect(info?["ContainerID"]?.stringValue == id)
            #expect(
                try d.client.call("POST", "/exec/\(execID)/start", body: Array("{\"Detach\":true}".utf8)).status == 409)
            // No exec into a stopped container, or without a command; a missing exec is a 404.
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "0")])
            let stopped = try d.client.call("POST", "/containers/\(id)/exec", body: Array("{\"Cmd\":[\"true\"]}".utf8))
            #expect(stopped.status == 409)
            #expect(stopped.json?["message"]?.stringValue?.contains("is not running") == true)
            #expect(try d.client.call("GET", "/exec/nosuch/json").status == 404)
            try d.client.checked("DELETE", "/containers/\(id)")
            #expect(
                try d.client.call("POST", "/containers/\(id)/exec", body: Array("{\"Cmd\":[\"true\"]}".utf8)).status
                    == 404)
        }
    }

    /// pause freezes every process (a counter stops), unpause resumes it; top lists the processes; stats give
    /// cgroup counters.
    @Test func pauseTopAndStats() async throws {
        try await TestDaemon.with { d in
            let id = try d.create([
                "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; usleep 20000; done",
            ])
            try d.client.checked("POST", "/containers/\(id)/start")
            let pid = try Self.pid(d, id)
            // The shell truncates the file before each write: a read may meet it empty, so read again.
            let counter = { () -> Int in
                for _ in 0..<50 {
                    let text = (try? String(contentsOfFile: "/proc/\(pid)/root/tmp/n", encoding: .utf8)) ?? ""
                    if let n = Int(text.trimmingSpaces) { return n }
                    usleep(2_000)
                }
                return -1
            }
            usleep(200_000)
            try d.client.checked("POST", "/containers/\(id)/pause")
            #expect(try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Paused"]?.boolValue == true)
            let frozen = counter()
            usleep(300_000)
            #expect(counter() == frozen)
            #expect(try d.client.call("POST", "/containers/\(id)/pause").status == 409)
            #expect(
                try d.client.call("POST", "/containers/\(id)/exec", body: Array("{\"Cmd\":[\"true\"]}".utf8)).status
                    == 409)
            try d.client.checked("POST", "/containers/\(id)/unpause")
            usleep(300_000)
            #expect(counter() > frozen)
            #expect(try d.client.call("POST", "/containers/\(id)/unpause").status == 409)

            let top = try d.client.checked("GET", "/containers/\(id)/top").json
            let titles = top?["Titles"]?.stringArray ?? []
            #expect(titles.contains("PID") && titles.contains("CMD"))
            let rows = top?["Processes"]?.arrayValue ?? []
            #expect(rows.contains { $0.stringArray?.last?.hasPrefix("sh -c") == true })
            let pids = try d.client.checked("GET", "/containers/\(id)/top", query: [("ps_args", "-o pid,comm")]).json
            #expect(pids?["Titles"]?.stringArray == ["PID", "COMMAND"])

            let stats = try d.client.checked("GET", "/containers/\(id)/stats", query: [("stream", "false")]).json
            #expect((stats?["memory_stats"]?["usage"]?.intValue ?? 0) > 0)
            #expect((stats?["cpu_stats"]?["cpu_usage"]?["total_usage"]?.intValue ?? 0) > 0)
            #expect((stats?["pids_stats"]?["current"]?.intValue ?? 0) >= 1)
            #expect(stats?["precpu_stats"]?["system_cpu_usage"]?.intValue != nil)
            // A stopped container cannot be paused or listed by top.
            try d.client.checked("POST", "/containers/\(id)/pause")
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "1")])
            #expect(
                try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Running"]?.boolValue == false)
            #expect(try d.client.call("POST", "/containers/\(id)/pause").status == 409)
            #expect(try d.client.call("GET", "/containers/\(id)/top").status == 409)
            try d.client.checked("DELETE", "/containers/\(id)")
        }
    }

    /// diff lists the container's changes (not the engine's mount points); commit makes an image of them that
    /// runs with the files and the `--change`d config.
    @Test func diffAndCommit() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sh", "-c", "echo data > /tmp/f; rm /bin/vi; mkdir -p /new/d"], name: "changer")
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            let changes = try d.client.checked("GET", "/containers/\(id)/changes").json?.arrayValue ?? []
            let shown = changes.map { "\($0["Kind"]?.intValue ?? -1) \($0["Path"]?.stringValue ?? "")" }
            #expect(shown == ["0 /bin", "2 /bin/vi", "1 /new", "1 /new/d", "0 /tmp", "1 /tmp/f"])
            let commit = try d.client.checked(
                "POST", "/commit",
                query: [
                    ("container", "changer"), ("repo", "committed"), ("tag", "v1"), ("comment", "a message"),
                    ("changes", "ENV COMMITTED=yes"),
                ])
            #expect(commit.status == 201)
            let image = try d.client.checked("GET", "/images/committed:v1/json").json
            #expect(image?["Comment"]?.stringValue == "a message")
            #expect(image?["RootFS"]?["Layers"]?.arrayValue?.count == 2)
            let out = try d.run(
                ["sh", "-c", "cat /tmp/f; ls /bin/vi 2>/dev/null || echo no-vi; echo $COMMITTED; ls /etc/hosts"],
                image: "committed:v1")
            #expect(out.stdout == "data\nno-vi\nyes\n/etc/hosts\n")
            let history = try d.client.checked("GET", "/images/committed:v1/history").json?.arrayValue ?? []
            #expect(history.first?["Comment"]?.stringValue == "a message")
            #expect(try d.client.call("POST", "/commit", query: [("container", "nosuch")]).status == 404)
            try d.client.checked("DELETE", "/containers/\(id)")
            try d.client.checked("DELETE", "/images/committed:v1")
        }
    }

    /// cp both ways, on a running and a stopped container; symlinks and `..` resolve inside the container and
    /// never reach the host.
    @Test func copyInAndOutStaysInsideTheContainer() async throws {
        try await TestDaemon.with { d in
            let marker = "berth-cp-\(UUID().uuidString.prefix(8))"
            let id = try d.create(
                [
                    "sh", "-c",
                    "echo inside > /etc/\(marker); ln -s /etc /tmp/etclink; ln -s ../../../../../etc/\(marker) /tmp/rel; sleep 60",
                ], name: "cp1")
            try d.client.checked("POST", "/containers/\(id)/start")
            var found = false
            for _ in 0..<50 where !found {
                usleep(50_000)
                found =
                    try d.client.call("HEAD", "/containers/\(id)/archive", query: [("path", "/tmp/rel")]).status == 200
            }
            #expect(found)
            // Reading through a symlink to /etc gets the container's file, never the host's.
            let tar = d.root + "/out.tar"
            let got = try d.client.checked(
                "GET", "/containers/\(id)/archive", query: [("path", "/tmp/etclink/\(marker)")])
            try Data(got.body).write(to: URL(fileURLWithPath: tar))
            let listing = try TarBuilder.list(tar)
            #expect(listing.map(\.name) == [marker])
            #expect(listing.first?.content == "inside\n")
            #expect(got.headers.contains { $0.0.lowercased() == "x-docker-container-path-stat" })
            #expect(try d.client.call("GET", "/containers/\(id)/archive", query: [("path", "/no/such")]).status == 404)
            // Writing through a symlink to /etc and with `..` lands in the container.
            let input = d.root + "/in.tar"
            try TarBuilder.write([.file(marker + "-new", "copied\n")], to: input)
            let body = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
            try d.client.checked(
                "PUT", "/containers/\(id)/archive", query: [("path", "/tmp/etclink")], body: body)
            try d.client.checked(
                "PUT", "/containers/\(id)/archive", query: [("path", "/../../../../tmp")], body: body)
            #expect(!FileManager.default.fileExists(atPath: "/etc/\(marker)-new"))
            #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)-new"))
            var r = try CLITests.berth(d, ["exec", "cp1", "cat", "/etc/\(marker)-new", "/tmp/\(marker)-new"])
            #expect(r.stdout == "copied\ncopied\n")
            // A tar whose entries climb out is refused, and nothing is written.
            let evil = d.root + "/evil.tar"
            try TarBuilder.write([.file("../../\(marker)-evil", "x")], to: evil)
            let refused = try d.client.call(
                "PUT", "/containers/\(id)/archive", query: [("path", "/tmp")],
                body: Array(try Data(contentsOf: URL(fileURLWithPath: evil))))
            #expect(refused.status == 400)
            #expect(!FileManager.default.fileExists(atPath: "/\(marker)-evil"))
            // A stopped container: its layers are read and written the same way.
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "0")])
            try d.client.checked(
                "PUT", "/containers/\(id)/archive", query: [("path", "/")], body: body)
            let back = try d.client.checked("GET", "/containers/\(id)/archive", query: [("path", "/\(marker)-new")])
            try Data(back.body).write(to: URL(fileURLWithPath: tar))
            #expect(try TarBuilder.list(tar).first?.content == "copied\n")
            try d.client.checked("POST", "/containers/\(id)/start")
            r = try CLITests.berth(d, ["exec", "cp1", "cat", "/\(marker)-new"])
            #expect(r.stdout == "copied\n")
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }
}

/// json-file rotation with `--log-opt max-size` and `max-file`.
@Suite(.serialized)
struct LogRotationTests {
    @Test func logsRotateAndReadInOrder() async throws {
        try await TestDaemon.with { d in
            let logConfig: JSONValue = .object([
                ("Type", .string("json-file")),
                ("Config", .object([("max-size", .string("2k")), ("max-file", .string("3"))])),
            ])
            let id = try d.create(
                ["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"],
                host: [("LogConfig", logConfig)])
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            let base = try #require(try d.client.checked("GET", "/containers/\(id)/json").json?["LogPath"]?.stringValue)
            for file in [base, base + ".1", base + ".2"] {
                let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? -1
                #expect(size > 0 && size <= 2048, "\(file): \(size)")
            }
            #expect(!FileManager.default.fileExists(atPath: base + ".3"))
            let lines = try d.logs(id).0.split(separator: "\n").map(String.init)
            #expect(lines.last == "line-299")
            // What is kept is the newest part, in order, without gaps.
            let numbers = lines.compactMap { Int($0.dropFirst(5)) }
            #expect(numbers == Array((300 - numbers.count)..<300))
            #expect(numbers.count > 50)
            for bad in [["max-size": "lots"], ["max-file": "2"], ["max-size": "1k", "max-file": "0"], ["bogus": "1"]] {
                let body: JSONValue = .object([
                    ("Image", .string("busybox")), ("Cmd", .strings(["true"])),
                    (
                        "HostConfig",
                        .object([("LogConfig", .object([("Type", .string("json-file")), ("Config", .map(bad))]))])
                    ),
                ])
                let r = try d.client.call("POST", "/containers/create", body: Array(body.serialized.utf8))
                #expect(r.status == 400, "\(bad)")
            }
        }
    }

    /// A log larger than one read (8 MiB) comes back whole and in order; `tail` counts from its end.
    @Test func largeLogsComeBackWhole() async throws {
        try await TestDaemon.with { d in
            let lines = 90_000  // 100-byte lines: 9 MB
            let data = d.root + "/big.txt"
            var text = ""
            text.reserveCapacity(lines * 100)
            for n in 0..<lines { text += String(n).padding(toLength: 99, withPad: "x", startingAt: 0) + "\n" }
            try text.write(toFile: data, atomically: false, encoding: .utf8)
            let id = try d.create(["cat", "/big.txt"], host: [("Binds", .strings(["\(data):/big.txt:ro"]))])
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            let all = try CLITests.berth(d, ["logs", id])
            #expect(all.stdout.utf8.count == lines * 100)
            #expect(all.stdout == text)
            let tail = try CLITests.berth(d, ["logs", "--tail", "2", id])
            #expect(tail.stdout.split(separator: "\n").map { $0.prefix(5) } == ["89998", "89999"])
        }
    }
}
