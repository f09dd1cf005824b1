import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// The daemon as a whole: restarts and crashes, bad input, locking, both storage drivers.
@Suite(.serialized)
struct DaemonTests {
    @Test func containersOutliveADaemonCrashAndAreAdopted() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"])
            try d.client.checked("POST", "/containers/\(id)/start")
            let pidBefore = try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Pid"]?.intValue
            usleep(300_000)
            d.crash()
            #expect(kill(Int32(pidBefore ?? 0), 0) == 0, "the container must survive the daemon")
            try d.start()
            let inspect = try d.client.checked("GET", "/containers/\(id)/json").json
            #expect(inspect?["State"]?["Running"]?.boolValue == true)
            #expect(inspect?["State"]?["Pid"]?.intValue == pidBefore)
            let ps = try d.client.checked("GET", "/containers/json").json?.arrayValue ?? []
            #expect(ps.contains { $0["Id"]?.stringValue == id })
            usleep(300_000)
            let (out, _) = try d.logs(id)
            #expect(out.contains("tick 0\n"))
            #expect(out.split(separator: "\n").count >= 4)
            try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "1")])
            let after = try d.client.checked("GET", "/containers/\(id)/json").json
            #expect(after?["State"]?["Status"]?.stringValue == "exited")
            #expect(after?["State"]?["ExitCode"]?.intValue == 137)
            try d.client.checked("DELETE", "/containers/\(id)")
            #expect(!cgroupExists(id))
        }
    }

    @Test func containerThatExitsWhileTheDaemonIsDownKeepsItsStatus() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sh", "-c", "sleep 0.5; echo done; exit 7"])
            try d.client.checked("POST", "/containers/\(id)/start")
            d.crash()
            usleep(1_000_000)
            try d.start()
            let inspect = try d.client.checked("GET", "/containers/\(id)/json").json
            #expect(inspect?["State"]?["Status"]?.stringValue == "exited")
            #expect(inspect?["State"]?["ExitCode"]?.intValue == 7)
            #expect(try d.logs(id).0 == "done\n")
        }
    }

    @Test func containerWhoseShimDiedIsReportedExited() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sleep", "60"])
            try d.client.checked("POST", "/containers/\(id)/start")
            let shimPid = try String(contentsOfFile: "\(d.root)/run/containers/\(id)/shim.pid", encoding: .utf8)
            kill(Int32(shimPid.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, SIGKILL)
            var status = ""
            for _ in 0..<100 {
                status =
                    try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Status"]?.stringValue ?? ""
                if status == "exited" { break }
                usleep(50_000)
            }
            #expect(status == "exited")
            let code = try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["ExitCode"]?.intValue
            #expect(code == 137)
            #expect(!cgroupExists(id), "the daemon removes the cgroup a killed shim left")
        }
    }

    @Test func badInputGetsTheRightStatusAndTheDaemonStaysUp() async throws {
        try await TestDaemon.with { d in
            let c = d.client
            func status(_ m: String, _ p: String, _ body: String? = nil, query: [(String, String)] = []) throws -> (
                Int, String
            ) {
                let r = try c.call(m, p, query: query, body: body.map { Array($0.utf8) })
                return (r.status, r.json?["message"]?.stringValue ?? "")
            }
            var r = try status("POST", "/containers/create", #"{"Image":"no-such-image:v9","Cmd":["true"]}"#)
            #expect(r.0 == 404 && r.1.contains("No such image: no-such-image:v9"))
            r = try status("DELETE", "/containers/nope")
            #expect(r.0 == 404 && r.1 == "No such container: nope")
            r = try status("POST", "/containers/create", #"{"Image":"busybox","Cmd":["true"],"#)
            #expect(r.0 == 400 && r.1.contains("invalid JSON"))
            r = try status(
                "POST", "/containers/create", #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":1024}}"#)
            #expect(r.0 == 400 && r.1.contains("Minimum memory limit"))
            r = try status(
                "POST", "/containers/create",
                #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"NanoCpus":99000000000}}"#)
            #expect(r.0 == 400 && r.1.contains("Range of CPUs"))
            r = try status(
                "POST", "/containers/create", #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"CpusetCpus":"0-99"}}"#)
            #expect(r.0 == 400)
            r = try status(
                "POST", "/containers/create",
                #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"CapAdd":["NOT_A_CAP"]}}"#)
            #expect(r.0 == 400 && r.1.contains("invalid capability"))
            r = try status(
                "POST", "/containers/create",
                #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"SecurityOpt":["seccomp={bad"]}}"#)
            #expect(r.0 == 400 && r.1.contains("seccomp"))
            r = try status(
                "POST", "/containers/create",
                #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/no/such/dir:/data"]}}"#)
            #expect(r.0 == 400 && r.1.contains("bind source path does not exist"))
            r = try status(
                "POST", "/containers/create",
                #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["relative:/data:zz"]}}"#)
            #expect(r.0 == 400)
            _ = try d.create(["true"], name: "taken")
            r = try status(
                "POST", "/containers/create", #"{"Image":"busybox","Cmd":["true"]}"#, query: [("name", "taken")])
            #expect(r.0 == 409 && r.1.contains("is already in use"))
            r = try status(
                "POST", "/containers/create", #"{"Image":"busybox","Cmd":["true"]}"#, query: [("name", "bad name!")])
            #expect(r.0 == 400)
            let v = try c.call("GET", "/version").status
            #expect(v == 200)
            // Unknown API versions and routes.
            var raw = try rawRequest(d, "GET /v1.99/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(raw.hasPrefix("HTTP/1.1 400") && raw.contains("too new"))
            raw = try rawRequest(d, "GET /v1.12/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(raw.hasPrefix("HTTP/1.1 400") && raw.contains("too old"))
            raw = try rawRequest(d, "GET /v1.44/nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(raw.hasPrefix("HTTP/1.1 404") && raw.contains("page not found"))
            raw = try rawRequest(d, "HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(raw.hasPrefix("HTTP/1.1 200") && raw.contains("Api-Version: 1.44"))
            // Running container: rm needs force, kill of a stopped one is 409, start twice is 304.
            let id = try d.create(["sleep", "30"])
            try c.checked("POST", "/containers/\(id)/start")
            #expect(try c.call("POST", "/containers/\(id)/start").status == 304)
            r = try status("DELETE", "/containers/\(id)")
            #expect(r.0 == 409 && r.1.contains("cannot remove a running container"))
            // The image is in use.
            r = try status("DELETE", "/images/busybox")
            #expect(r.0 == 409)
            try c.checked("POST", "/containers/\(id)/kill")
            #expect(try c.call("POST", "/containers/\(id)/stop").status == 304)
            r = try status("POST", "/containers/\(id)/kill")
            #expect(r.0 == 409 && r.1.contains("is not running"))
            #expect(try c.call("GET", "/_ping").status == 200)
        }
    }

    @Test func maliciousLayerTarIsRefusedAndNothingOutsideIsTouched() async throws {
        try await TestDaemon.with { d in
            let dir = d.root + "/evil"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let canary = d.root + "/canary"
            let script = """
                import tarfile, io, sys
                def add(t, name, data=b"x", **kw):
                    i = tarfile.TarInfo(name); i.size = len(data)
                    for k, v in kw.items(): setattr(i, k, v)
                    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
                with tarfile.open(sys.argv[1] + "/dotdot.tar", "w") as t: add(t, "../../../../../../\(canary.dropFirst())")
                with tarfile.open(sys.argv[1] + "/abs.tar", "w") as t: add(t, "\(canary)")
                with tarfile.open(sys.argv[1] + "/link.tar", "w") as t:
                    add(t, "evil", b"", type=tarfile.SYMTYPE, linkname="\(d.root)")
                    add(t, "evil/canary")
                with tarfile.open(sys.argv[1] + "/hard.tar", "w") as t: add(t, "h", b"", type=tarfile.LNKTYPE, linkname="../../../../etc/passwd")
                """
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-c", script, dir]
            try p.run()
            p.waitUntilExit()
            for name in ["dotdot", "abs", "link", "hard"] {
                let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name).tar")))
                let r = try d.client.call(
                    "POST", "/images/create", query: [("fromSrc", "-"), ("repo", "evil:\(name)")], body: body)
                let text = String(decoding: r.body, as: UTF8.self)
                #expect(text.contains("error"), "\(name) must be refused: \(text)")
                #expect(!FileManager.default.fileExists(atPath: canary), "\(name) wrote outside the layer")
                #expect(try d.client.call("GET", "/images/evil:\(name)/json").status == 404)
            }
            // Corrupt input: not a tar at all, and a tar cut short.
            let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try d.makeBusyboxTar())))
            var junk = [UInt8](repeating: 0, count: 4096)
            for i in junk.indices { junk[i] = UInt8.random(in: 0...255) }
            for (name, body) in [("junk", junk), ("truncated", Array(tar.prefix(3000)))] {
                let r = try d.client.call(
                    "POST", "/images/create", query: [("fromSrc", "-"), ("repo", "bad:\(name)")], body: body)
                #expect(String(decoding: r.body, as: UTF8.self).contains("invalid layer"), "\(name) must be refused")
                #expect(try d.client.call("GET", "/images/bad:\(name)/json").status == 404)
            }
            let layers = try FileManager.default.contentsOfDirectory(atPath: d.root + "/lib/storage/overlay")
            #expect(layers.filter { !$0.hasPrefix(".") }.count == 1, "only busybox's layer remains: \(layers)")
            #expect(try d.client.call("GET", "/_ping").status == 200)
        }
    }

    @Test func secondDaemonOnTheSameRootIsRefused() async throws {
        try await TestDaemon.with { d in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berthd")
            p.arguments = ["--config", d.configPath, "--root", d.root + "/lib", "--exec-root", d.root + "/run2"]
            let pipe = Pipe()
            p.standardError = pipe
            try p.run()
            p.waitUntilExit()
            let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus != 0)
            #expect(err.contains("already using the root"))
            let q = Process()
            q.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berthd")
            q.arguments = [
                "--config", d.configPath, "--root", d.root + "/lib2", "--exec-root", d.root + "/run2", "-H",
                "unix://\(d.socketPath)",
            ]
            let pipe2 = Pipe()
            q.standardError = pipe2
            try q.run()
            q.waitUntilExit()
            #expect(q.terminationStatus != 0)
            #expect(
                String(decoding: pipe2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains(
                    "already listening"))
        }
    }

    @Test(arguments: ["overlay", "vfs"])
    func bothStorageDriversRunContainersAndExport(driver: String) async throws {
        try await TestDaemon.with(storageDriver: driver) { d in
            let info = try d.client.checked("GET", "/info").json
            #expect(info?["Driver"]?.stringValue == driver)
            let id = try d.create(["sh", "-c", "echo data > /root/file; rm /etc/group; echo ok"])
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            #expect(try d.logs(id).0 == "ok\n")
            let tar = try d.client.checked("GET", "/containers/\(id)/export").body
            let path = d.root + "/export.tar"
            try Data(tar).write(to: URL(fileURLWithPath: path))
            let list = Process()
            list.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            list.arguments = ["-tf", path]
            let out = Pipe()
            list.standardOutput = out
            try list.run()
            list.waitUntilExit()
            let names = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(names.contains("root/file"))
            #expect(names.contains("bin/busybox"))
            #expect(!names.contains("etc/group"), "a deleted file must not be exported")
            // The image is unchanged for the next container.
            #expect(try d.run(["cat", "/etc/group"]).exitCode == 0)
        }
    }

    @Test func logsFollowTailAndTimestamps() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done; echo oops >&2"])
            try d.client.checked("POST", "/containers/\(id)/start")
            // follow streams until the container exits, then ends by itself.
            let followed = try d.client.checked(
                "GET", "/containers/\(id)/logs", query: [("stdout", "1"), ("stderr", "1"), ("follow", "1")])
            let (out, err) = TestDaemon.demux(followed.body)
            #expect(out == "line 1\nline 2\nline 3\nline 4\nline 5\n")
            #expect(err == "oops\n")
            // tail counts entries of both streams, then the stream filter applies (as Docker's json-file reader).
            let tail = try d.client.checked("GET", "/containers/\(id)/logs", query: [("stdout", "1"), ("tail", "2")])
            #expect(TestDaemon.demux(tail.body).0 == "line 5\n")
            let stamped = try d.client.checked(
                "GET", "/containers/\(id)/logs", query: [("stdout", "1"), ("timestamps", "1"), ("tail", "2")])
            let line = TestDaemon.demux(stamped.body).0
            #expect(line.hasSuffix("Z line 5\n") && line.hasPrefix("20"))
            #expect(try d.client.call("GET", "/containers/\(id)/logs").status == 400)
        }
    }

    @Test func autoRemoveAndWaitConditions() async throws {
        try await TestDaemon.with { d in
            // The wait is registered with the lookup, so one sent after the start sees the exit unless the
            // container is already gone (then 404, as Docker): the sleep keeps it alive long enough.
            let id = try d.create(["sh", "-c", "sleep 0.5; exit 4"], host: [("AutoRemove", .bool(true))])
            try d.client.checked("POST", "/containers/\(id)/start")
            let w = try d.client.checked("POST", "/containers/\(id)/wait", query: [("condition", "removed")])
            #expect(w.json?["StatusCode"]?.intValue == 4)
            #expect(try d.client.call("GET", "/containers/\(id)/json").status == 404)
            // A start failure with AutoRemove removes the container too.
            let bad = try d.create(["/no/such"], host: [("AutoRemove", .bool(true))])
            #expect(try d.client.call("POST", "/containers/\(bad)/start").status == 400)
            #expect(try d.client.call("GET", "/containers/\(bad)/json").status == 404)
        }
    }
}

/// Sends raw HTTP to the daemon's socket and returns the whole answer.
func rawRequest(_ d: TestDaemon, _ text: String) throws -> String {
    let fd = try d.client.connect()
    let conn = Connection(fd: fd)
    defer { conn.close() }
    try conn.send(Array(text.utf8))
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}
