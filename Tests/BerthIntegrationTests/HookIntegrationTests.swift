import BerthAPIClient
import BerthCore
import Foundation
import Synchronization
import Testing

/// config.lua and Lua hooks in a real daemon with real containers.
@Suite(.serialized)
struct HookIntegrationTests {
    /// Appends "EVENT NAME" for every container event to events.log in the daemon's root (io is granted).
    static let recorder = """
        local function record(c)
          local f = assert(io.open(berth.config.root .. "/../events.log", "a"))
          f:write(c.event, " ", c.name, "\\n")
          f:close()
        end
        return { create = record, prestart = record, poststart = record, stop = record, poststop = record,
                 remove = record }
        """

    static func recordingConfig(_ d: TestDaemon, extra: String = "") -> String {
        "hooks = { dir = \"\(d.hooksDir)\", scripts = { [\"00-record.lua\"] = { io = true } } \(extra) },"
    }

    /// Polls until `condition` holds (async hooks run shortly after the API answers).
    static func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    static func events(_ d: TestDaemon, _ name: String) -> [String] {
        let text = (try? String(contentsOfFile: d.root + "/events.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.hasSuffix(" " + name) }.map {
            String($0.split(separator: " ")[0])
        }
    }

    static func repoHook(_ name: String) throws -> String {
        try String(contentsOfFile: TestDaemon.repoRoot + "/lua/hooks/" + name, encoding: .utf8)
    }

    @Test func eachEventFiresOnceInOrder() async throws {
        let d = try TestDaemon()
        defer { d.cleanUp() }
        try d.writeConfig(Self.recordingConfig(d))
        try d.writeHook("00-record.lua", Self.recorder)
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")

        // run -d, stop, rm
        let id = try d.create(["sleep", "100"], name: "svc")
        try d.client.checked("POST", "/containers/\(id)/start")
        try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "1")])
        try d.client.checked("DELETE", "/containers/\(id)")
        let full = ["create", "prestart", "poststart", "stop", "poststop", "remove"]
        #expect(Self.eventually { Self.events(d, "svc").count >= 6 })
        usleep(200_000)
        #expect(Self.events(d, "svc") == full)

        // run --rm of a command that exits by itself: no stop request, so no stop event.
        let once = try d.create(["true"], host: [("AutoRemove", .bool(true))], name: "once")
        try d.client.checked("POST", "/containers/\(once)/start")
        #expect(Self.eventually { Self.events(d, "once").count >= 5 })
        usleep(200_000)
        #expect(Self.events(d, "once") == ["create", "prestart", "poststart", "poststop", "remove"])
    }

    @Test func createChangesAreAppliedAndRecorded() async throws {
        let data = "/tmp/berth-hook-data-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: data) }
        try "from the host\n".write(toFile: data + "/file", atomically: true, encoding: .utf8)
        let hook = """
            return { create = function(c)
              return { memory = "64m", pids = 50, env = { HOOKED = "yes " .. c.name }, labels = { ["hooked.by"] = berth.script },
                       mounts = { "\(data):/data:ro" } }
            end }
            """
        try await TestDaemon.with(hooks: ["changes.lua": hook]) { d in
            let r = try d.run(["sh", "-c", "echo $HOOKED; cat /data/file; touch /data/x 2>/dev/null || echo ro"])
            #expect(r.stdout.hasPrefix("yes "))
            #expect(r.stdout.hasSuffix("from the host\nro\n"), "\(r.stdout)")
            #expect(r.inspect["HostConfig"]?["Memory"]?.int64Value == 64 << 20)
            #expect(r.inspect["HostConfig"]?["PidsLimit"]?.int64Value == 50)
            #expect(r.inspect["Config"]?["Labels"]?["hooked.by"]?.stringValue == "changes.lua")
            #expect(r.inspect["HostConfig"]?["Binds"]?.stringArray == ["\(data):/data:ro"])
            // The limit reaches the cgroup.
            let id = try d.create(["sleep", "30"])
            try d.client.checked("POST", "/containers/\(id)/start")
            let limit = try String(
                contentsOfFile: "/sys/fs/cgroup/memory/berth/\(id)/memory.limit_in_bytes", encoding: .utf8)
            #expect(limit.trimmingCharacters(in: .whitespacesAndNewlines) == String(64 << 20))
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }

    @Test func refusalsLeaveNothingBehind() async throws {
        let prestart = """
            return { prestart = function(c)
              if c.labels.nostart then return berth.refuse("labelled nostart") end
            end }
            """
        try await TestDaemon.with(hooks: [
            "require-owner.lua": try Self.repoHook("require-owner.lua"), "p.lua": prestart,
        ]) {
            d in
            let body: JSONValue = .object([("Image", .string("busybox")), ("Cmd", .strings(["true"]))])
            let r = try d.client.call(
                "POST", "/containers/create", query: [("name", "unowned")], body: Array(body.serialized.utf8))
            #expect(r.status == 403)
            #expect(
                r.json?["message"]?.stringValue
                    == "hook require-owner.lua refused create: containers need an owner label (run with -l owner=NAME)")
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )
            #expect(try FileManager.default.contentsOfDirectory(atPath: d.root + "/lib/containers").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: d.root + "/run/containers").isEmpty)
            let layers = try FileManager.default.contentsOfDirectory(atPath: d.root + "/lib/storage/overlay")
            #expect(layers.filter { !$0.hasPrefix(".") }.count == 1, "only the image's layer: \(layers)")
            // The name is free again.
            let owned = try d.create(["true"], config: [("Labels", .map(["owner": "me"]))], name: "unowned")
            try d.client.checked("DELETE", "/containers/\(owned)")

            // prestart: the container stays created (as after any failed start), with no cgroup or shim.
            let id = try d.create(["sleep", "10"], config: [("Labels", .map(["owner": "me", "nostart": "1"]))])
            let s = try d.client.call("POST", "/containers/\(id)/start")
            #expect(s.status == 403)
            #expect(s.json?["message"]?.stringValue == "hook p.lua refused prestart: labelled nostart")
            let state = try d.client.checked("GET", "/containers/\(id)/json").json?["State"]
            #expect(state?["Status"]?.stringValue == "created")
            #expect(state?["Running"]?.boolValue == false)
            #expect(!cgroupExists(id))
            #expect(!FileManager.default.fileExists(atPath: d.root + "/run/containers/\(id)/shim.pid"))
            // With --rm the refused container is removed.
            let rm = try d.create(
                ["true"], config: [("Labels", .map(["owner": "me", "nostart": "1"]))],
                host: [("AutoRemove", .bool(true))])
            #expect(try d.client.call("POST", "/containers/\(rm)/start").status == 403)
            #expect(try d.client.call("GET", "/containers/\(rm)/json").status == 404)
        }
    }

    @Test func runawayHooksAreStopped() async throws {
        let slow =
            "return {\n  create = function(c)\n    if c.labels.loop then while true do end end\n  end,\n"
            + "  poststart = function(c)\n    while true do end\n  end,\n}"
        let d = try TestDaemon()
        defer { d.cleanUp() }
        try d.writeConfig("hooks = { dir = \"\(d.hooksDir)\", timeout_ms = 300 },")
        try d.writeHook("slow.lua", slow)
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        let body: JSONValue = .object([
            ("Image", .string("busybox")), ("Cmd", .strings(["true"])), ("Labels", .map(["loop": "1"])),
        ])
        let r = try d.client.call("POST", "/containers/create", body: Array(body.serialized.utf8))
        #expect(r.status == 500)
        #expect(r.json?["message"]?.stringValue == "hook slow.lua failed in create: slow.lua:3: time limit exceeded")
        // An observe-only runaway is logged; the container runs normally.
        let ok = try d.run(["echo", "fine"])
        #expect(ok.exitCode == 0 && ok.stdout == "fine\n")
        #expect(Self.eventually { d.log().contains("slow.lua:6: time limit exceeded") })
        #expect(try d.client.call("GET", "/_ping").status == 200)
    }

    @Test func sighupReloadsConfigAndHooks() async throws {
        try await TestDaemon.with(hooks: ["a.lua": "return { create = function() return { labels = { v = '1' } } end }"]
        ) {
            d in
            let running = try d.create(["sleep", "60"])
            try d.client.checked("POST", "/containers/\(running)/start")
            #expect(try d.run(["true"]).inspect["Config"]?["Labels"]?["v"]?.stringValue == "1")

            try d.writeHook("a.lua", "return { create = function() return { labels = { v = '2' } } end }")
            try d.writeHook("b.lua", "return { remove = function() end }")
            try d.writeConfig("network = { default = \"host\" }, log_level = \"warn\",")
            d.reload()
            let reloaded = Self.eventually {
                (try? d.client.checked("GET", "/info").json?["Berth"]?["Hooks"]?.arrayValue?.count) == 2
            }
            #expect(reloaded)
            let info = try d.client.checked("GET", "/info").json
            #expect(info?["Berth"]?["DefaultNetwork"]?.stringValue == "host")
            // The daemon's --log-level flag overrides the file, on a reload too.
            #expect(info?["Berth"]?["LogLevel"]?.stringValue == "debug")
            let after = try d.run(["true"])
            #expect(after.inspect["Config"]?["Labels"]?["v"]?.stringValue == "2")
            #expect(after.inspect["HostConfig"]?["NetworkMode"]?.stringValue == "host")

            // A broken script or config keeps what was loaded, and says why.
            try d.writeHook("c.lua", "return {\n  create = function(\n}")
            d.reload()
            #expect(Self.eventually { d.log().contains("c.lua:3:") && d.log().contains("reload failed") })
            #expect(try d.client.checked("GET", "/info").json?["Berth"]?["Hooks"]?.arrayValue?.count == 2)
            try FileManager.default.removeItem(atPath: d.hooksDir + "/c.lua")
            try d.writeConfig("storgae = {},")
            d.reload()
            #expect(
                Self.eventually { d.log().contains("storgae: unknown key \"storgae\" (did you mean \"storage\"?)") })
            #expect(try d.run(["true"]).inspect["Config"]?["Labels"]?["v"]?.stringValue == "2")
            // The container that ran through all of it is untouched.
            let state = try d.client.checked("GET", "/containers/\(running)/json").json?["State"]
            #expect(state?["Running"]?.boolValue == true)
            try d.client.checked("DELETE", "/containers/\(running)", query: [("force", "1")])
        }
    }

    /// Runs berthd with `config` and `hooks` and returns its exit status and stderr (it must refuse to start).
    static func refusedStart(config: String, hooks: [String: String] = [:]) throws -> (Int32, String) {
        let d = try TestDaemon()
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        try config.write(toFile: d.configPath, atomically: true, encoding: .utf8)
        for (name, source) in hooks { try d.writeHook(name, source) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berthd")
        p.arguments = ["--config", d.configPath, "--root", d.root + "/lib", "--exec-root", d.root + "/run"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 0 || p.isRunning { p.terminate() }
        return (p.terminationStatus, err.replacingOccurrences(of: d.root, with: "ROOT"))
    }

    @Test func badConfigurationStopsTheDaemon() throws {
        let (s1, e1) = try Self.refusedStart(config: "return {\n  storgae = { driver = \"vfs\" },\n}")
        #expect(s1 != 0)
        #expect(
            e1.contains("berthd: ROOT/config.lua:2: storgae: unknown key \"storgae\" (did you mean \"storage\"?)"),
            "\(e1)")
        let (s2, e2) = try Self.refusedStart(config: "return {\n  storage = { driver = \"zfs\" },\n}")
        #expect(s2 != 0)
        #expect(e2.contains("ROOT/config.lua:2: storage.driver: unknown storage driver \"zfs\""), "\(e2)")
        let (s3, e3) = try Self.refusedStart(config: "return {\n  hooks = { timeout_ms = true }\n")
        #expect(s3 != 0)
        #expect(e3.contains("ROOT/config.lua:3:"), "\(e3)")
        let (s4, e4) = try Self.refusedStart(config: "return { log_level = 3 }")
        #expect(s4 != 0)
        #expect(e4.contains("log_level: expected a string, got a number"), "\(e4)")
    }

    @Test func brokenHookScriptStopsTheDaemon() throws {
        let d = try TestDaemon()
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        try d.writeConfig()
        try d.writeHook("x.lua", "return {\n  create = function(c)\n    return c.\n  end,\n}")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berthd")
        p.arguments = ["--config", d.configPath, "--root", d.root + "/lib", "--exec-root", d.root + "/run"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(err.contains("hook \(d.hooksDir)/x.lua: x.lua:4:"), "\(err)")
    }

    @Test func infoShowsTheConfiguration() async throws {
        try await TestDaemon.with(hooks: ["audit.lua": try Self.repoHook("audit.lua")]) { d in
            let info = try d.client.checked("GET", "/info").json
            #expect(info?["Driver"]?.stringValue == "overlay")
            #expect(info?["Berth"]?["ConfigFile"]?.stringValue == d.configPath)
            #expect(info?["Berth"]?["DefaultNetwork"]?.stringValue == "bridge")
            #expect(info?["Berth"]?["HooksDir"]?.stringValue == d.hooksDir)
            let labels = info?["Labels"]?.stringArray ?? []
            #expect(labels.contains("berth.config-file=\(d.configPath)"))
            #expect(labels.contains("berth.hooks=audit.lua"))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
            p.arguments = ["-H", "unix://\(d.socketPath)", "system", "hooks"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(
                out == "SCRIPT      EVENTS\naudit.lua   create, prestart, poststart, stop, poststop, remove, delete\n")
            // The audit example logs with its fields into the daemon's log.
            _ = try d.run(["true"], config: [("Labels", .map(["owner": "x"]))])
            #expect(Self.eventually { d.log().contains("audit: container remove") })
            #expect(d.log().contains("script=audit.lua"))
        }
    }

    @Test func aSlowHookDoesNotBlockOtherRequests() async throws {
        let d = try TestDaemon()
        defer { d.cleanUp() }
        let release = d.root + "/release-the-hook"
        // The hook holds the create until the test creates the file (or its 20 s limit).
        let slow = """
            return { create = function(c)
              if c.labels.slow then
                while true do local f = io.open("\(release)") if f then f:close() break end end
              end
            end }
            """
        try d.writeConfig(
            "hooks = { dir = \"\(d.hooksDir)\", timeout_ms = 20000, scripts = { [\"slow.lua\"] = { io = true } } },")
        try d.writeHook("slow.lua", slow)
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        let client = d.client
        let body: JSONValue = .object([
            ("Image", .string("busybox")), ("Cmd", .strings(["true"])), ("Labels", .map(["slow": "1"])),
        ])
        let finished = Mutex(false)
        let creating = Task.detached {
            let r = try client.call("POST", "/containers/create", body: Array(body.serialized.utf8))
            finished.withLock { $0 = true }
            return r
        }
        usleep(300_000)
        // While the hook runs, requests that raise no hook event are answered.
        for (method, path) in [("GET", "/_ping"), ("GET", "/containers/json"), ("GET", "/info"), ("GET", "/version")] {
            #expect(try client.call(method, path).status == 200)
        }
        #expect(finished.withLock { $0 } == false, "the create was still held by its hook while those were answered")
        FileManager.default.createFile(atPath: release, contents: nil)
        let created = try await creating.value
        #expect(created.status == 201)
    }
}
