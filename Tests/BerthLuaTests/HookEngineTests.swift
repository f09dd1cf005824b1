import BerthCore
import BerthLua
import Foundation
import Logging
import Synchronization
import Testing

/// Collects log records, to check what hooks log.
final class LogRecorder: Sendable {
    let records = Mutex<[(Logger.Level, String, [String: String])]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(recorder: self) }
    }

    func messages(_ level: Logger.Level? = nil) -> [String] {
        records.withLock { $0.filter { level == nil || $0.0 == level }.map(\.1) }
    }

    func metadata(of message: String) -> [String: String]? {
        records.withLock { $0.first { $0.1 == message }?.2 }
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var m: [String: String] = [:]
            for (k, v) in event.metadata ?? [:] { m[k] = "\(v)" }
            recorder.records.withLock { $0.append((event.level, "\(event.message)", m)) }
        }
    }
}

/// A temporary hooks directory.
final class HookDir {
    let path = "/tmp/berth-hooks-\(UInt32.random(in: 0...UInt32.max))"
    init(_ scripts: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, source) in scripts { try write(name, source) }
    }
    func write(_ name: String, _ source: String) throws {
        try source.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func settings(timeout: Int64 = 2000) -> EngineConfiguration.Hooks {
        var s = EngineConfiguration.Hooks()
        s.dir = path
        s.timeoutMilliseconds = timeout
        return s
    }
}

/// A container as the daemon describes it to hooks.
let sampleContainer: JSONValue = .object([
    ("event", .string("create")), ("id", .string("abc123")), ("name", .string("web")), ("image", .string("busybox")),
    ("command", .strings(["sh", "-c", "true"])), ("labels", .object([("team", .string("a"))])),
    ("env", .strings(["PATH=/bin"])), ("mounts", .array([])), ("limits", .object([])),
])

@Suite struct HookEngineTests {
    let recorder = LogRecorder()
    var engine: HookEngine { HookEngine(logger: recorder.logger, version: "9.9") }

    @Test func scriptsLoadInNameOrderWithTheirEvents() async throws {
        let dir = try HookDir([
            "20-b.lua": "return { stop = function() end, create = function() end }",
            "10-a.lua": "return { remove = function() end }",
            "notes.txt": "not a script",
        ])
        let e = engine
        let infos = try await e.load(settings: dir.settings(), config: .object([]))
        #expect(
            infos == [
                HookScriptInfo(name: "10-a.lua", events: ["remove"]),
                HookScriptInfo(name: "20-b.lua", events: ["create", "stop"]),
            ])
        #expect(e.handles(.create) && e.handles(.remove) && !e.handles(.poststart))
    }

    @Test func missingDirectoryMeansNoHooks() async throws {
        var s = EngineConfiguration.Hooks()
        s.dir = "/nonexistent/hooks"
        #expect(try await engine.load(settings: s, config: .object([])) == [])
    }

    @Test func badScriptsAreRefusedWithTheirLine() async throws {
        let dir = try HookDir(["a.lua": "return {\n  create = function(c)\n    return c..\n  end,\n}"])
        await #expect(throws: BerthError.self) { try await engine.load(settings: dir.settings(), config: .object([])) }
        do { try await engine.load(settings: dir.settings(), config: .object([])) } catch {
            #expect(error.message.contains("a.lua:4:"), "\(error.message)")
        }
        try dir.write("a.lua", "return { creat = function() end }")
        do { try await engine.load(settings: dir.settings(), config: .object([])) } catch {
            #expect(error.message.contains("unknown event \"creat\" (did you mean \"create\"?)"), "\(error.message)")
        }
        try dir.write("a.lua", "return 1")
        do { try await engine.load(settings: dir.settings(), config: .object([])) } catch {
            #expect(error.message.contains("must return a table of event functions"), "\(error.message)")
        }
        try dir.write("a.lua", "return { create = 5 }")
        do { try await engine.load(settings: dir.settings(), config: .object([])) } catch {
            #expect(error.message.contains("create must be a function, not a number"), "\(error.message)")
        }
    }

    @Test func failedReloadKeepsTheLoadedScripts() async throws {
        let dir = try HookDir(["a.lua": "return { create = function() return { labels = { v = '1' } } end }"])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        try dir.write("b.lua", "return {")
        await #expect(throws: BerthError.self) { try await e.load(settings: dir.settings(), config: .object([])) }
        #expect(e.scripts.map(\.name) == ["a.lua"])
        guard case .proceed(let changes) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(changes.labels == ["v": "1"])
    }

    @Test func createChangesAccumulateInOrder() async throws {
        let dir = try HookDir([
            "1.lua": """
            return { create = function(c)
              return { labels = { owner = "ops" }, env = { "A=1" }, memory = "64m", mounts = { "/srv:/data:ro" } }
            end }
            """,
            "2.lua": """
            return { create = function(c)
              -- sees the first script's changes
              return { labels = { seen = c.labels.owner .. "/" .. c.limits.memory }, env = { B = "2" },
                       cpus = 0.5, pids = 64 }
            end }
            """,
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(c.labels == ["owner": "ops", "seen": "ops/67108864"])
        #expect(c.env == ["A=1", "B=2"])
        #expect(c.mounts == ["/srv:/data:ro"])
        #expect(c.memory == 64 << 20)
        #expect(c.cpus == 0.5)
        #expect(c.pids == 64)
        #expect(c.scripts == ["1.lua", "2.lua"])
    }

    @Test func badChangesFailNamingTheScript() async throws {
        for (body, expected) in [
            ("return { memry = 1 }", "unknown change \"memry\" (did you mean \"memory\"?)"),
            ("return { memory = 'lots' }", "invalid size"),
            ("return { memory = 1024 }", "below the minimum"),
            ("return { mounts = { 'relative:/x' } }", "is not /host:/container"),
            ("return { env = { 'NOEQUALS' } }", "KEY=VALUE"),
            ("return 'yes'", "returned a string"),
        ] {
            let dir = try HookDir(["p.lua": "return { create = function(c) \(body) end }"])
            let e = engine
            try await e.load(settings: dir.settings(), config: .object([]))
            let outcome = await e.run(.create, sampleContainer)
            guard case .failed(let script, let message) = outcome else {
                Issue.record("\(body) should fail")
                continue
            }
            #expect(script == "p.lua")
            #expect(message.contains(expected), "\(message)")
            #expect(outcome.error(.create)?.message.hasPrefix("hook p.lua failed in create: ") == true)
        }
    }

    @Test func refusalNamesScriptAndReason() async throws {
        let dir = try HookDir([
            "a.lua": "return { prestart = function(c) end }",
            "b.lua":
                "return { prestart = function(c) if c.name == 'web' then return berth.refuse('no web today') end end }",
            "c.lua": "return { prestart = function(c) error('never reached') end }",
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        let outcome = await e.run(.prestart, sampleContainer)
        guard case .refused(let script, let reason) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        #expect(script == "b.lua" && reason == "no web today")
        let error = outcome.error(.prestart)
        #expect(error?.code == .forbidden)
        #expect(error?.message == "hook b.lua refused prestart: no web today")
    }

    @Test func errorsAndLimitsCarryScriptAndLine() async throws {
        let dir = try HookDir([
            "e.lua": "return {\n  create = function(c)\n    return c.nothing.field\n  end,\n}"
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        guard case .failed(let script, let message) = await e.run(.create, sampleContainer) else {
            Issue.record("expected a failure")
            return
        }
        #expect(script == "e.lua")
        #expect(message.hasPrefix("e.lua:3: attempt to index a nil value"), "\(message)")

        try dir.write("e.lua", "return {\n  create = function(c)\n    while true do end\n  end,\n}")
        try await e.load(settings: dir.settings(timeout: 100), config: .object([]))
        guard case .failed(_, let limit) = await e.run(.create, sampleContainer) else {
            Issue.record("expected the limit")
            return
        }
        #expect(limit == "e.lua:3: time limit exceeded")
    }

    @Test func objectsAreReadOnly() async throws {
        let dir = try HookDir([
            "r.lua": """
            return { create = function(c)
              local ok, err = pcall(function() c.name = "other" end)
              local ok2 = pcall(function() c.labels.team = "b" end)
              local n = 0
              for k, v in pairs(c.labels) do n = n + 1 end
              return { labels = { write = tostring(ok), nested = tostring(ok2), err = tostring(err):match("read%-only") or err,
                                  count = tostring(n), len = tostring(#c.command), arg = c.command[2] } }
            end }
            """
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(c.labels["write"] == "false" && c.labels["nested"] == "false" && c.labels["err"] == "read-only")
        #expect(c.labels["count"] == "1" && c.labels["len"] == "3" && c.labels["arg"] == "-c")
    }

    @Test func hostTableAndStorePersistAcrossEventsAndReloads() async throws {
        let script = """
            return {
              poststart = function(c) berth.kv.set("seq", (berth.kv.get("seq") or "") .. c.event .. ",") end,
              poststop = function(c) berth.kv.set("seq", (berth.kv.get("seq") or "") .. c.event .. ",") end,
              create = function(c)
                berth.log.warn("creating", { name = c.name, n = 3 })
                print("printed", 1)
                return { labels = { seq = berth.kv.get("seq") or "", version = berth.version, driver = berth.config.storage.driver,
                                    now = tostring(math.abs(berth.now() - os.time()) < 5), script = berth.script } }
              end,
            }
            """
        let dir = try HookDir(["k.lua": script])
        let e = engine
        let config: JSONValue = .object([("storage", .object([("driver", .string("vfs"))]))])
        try await e.load(settings: dir.settings(), config: config)
        for event in [HookEvent.poststart, .poststop, .poststart] {
            var o = sampleContainer
            o["event"] = .string(event.rawValue)
            e.notify(event, o)
        }
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(c.labels["seq"] == "poststart,poststop,poststart,")
        #expect(c.labels["version"] == "9.9" && c.labels["driver"] == "vfs" && c.labels["now"] == "true")
        #expect(c.labels["script"] == "k.lua")
        #expect(recorder.messages(.warning).contains("creating"))
        #expect(recorder.metadata(of: "creating")?["name"] == "web")
        #expect(recorder.metadata(of: "creating")?["script"] == "k.lua")
        #expect(recorder.messages(.info).contains("printed\t1"))
        // A reload keeps the store (not a restart).
        try await e.load(settings: dir.settings(), config: config)
        guard case .proceed(let again) = await e.run(.create, sampleContainer) else { return }
        #expect(again.labels["seq"] == "poststart,poststop,poststart,")
    }

    @Test func observeOnlyFailuresAreLoggedNotReturned() async throws {
        let dir = try HookDir([
            "o.lua":
                "return {\n  poststop = function(c)\n    error('boom')\n  end,\n  remove = function(c) return berth.refuse('no') end }"
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        e.notify(.poststop, sampleContainer)
        e.notify(.remove, sampleContainer)
        await e.drain()
        #expect(recorder.messages(.error) == ["hook failed"])
        #expect(
            recorder.records.withLock { $0.first { $0.1 == "hook failed" }?.2["error"] }?.contains("o.lua:3: boom")
                == true)
        #expect(recorder.messages(.warning).contains("hook refusal ignored: remove cannot be refused"))
    }

    @Test func hooksDoNotBlockEachOtherForever() async throws {
        // A runaway observe-only hook delays later hooks by at most its limit, never forever.
        let dir = try HookDir([
            "slow.lua":
                "return { poststart = function() while true do end end, create = function() return { labels = { ok = 'yes' } } end }"
        ])
        let e = engine
        try await e.load(settings: dir.settings(timeout: 100), config: .object([]))
        e.notify(.poststart, sampleContainer)
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else { return }
        #expect(c.labels["ok"] == "yes")
    }

    @Test func scriptsAreIsolatedFromEachOther() async throws {
        let dir = try HookDir([
            "1-meddle.lua": """
            shared = "from 1"
            string.upper = function() return "hijacked" end
            local mt_ok = pcall(function() getmetatable("").__index = {} end)
            return { create = function(c)
              local raw = pcall(function() rawset(c, "name", "forged") end)
              local nested = pcall(function() rawset(c.labels, "owner", "forged") end)
              return { labels = { mt = tostring(mt_ok), raw = tostring(raw), nested = tostring(nested),
                                  gmt = tostring(getmetatable("")), sm = tostring(pcall(setmetatable, c, {})) } }
            end }
            """,
            "2-observe.lua": """
            return { create = function(c)
              return { labels = { shared = tostring(shared), upper = ("x"):upper() .. string.upper("y"),
                                  name = c.name, owner = tostring(c.labels.owner), io = tostring(io) } }
            end }
            """,
        ])
        let e = engine
        try await e.load(settings: dir.settings(), config: .object([]))
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(c.labels["mt"] == "false" && c.labels["gmt"] == "false" && c.labels["sm"] == "false")
        #expect(c.labels["raw"] == "false" && c.labels["nested"] == "false")
        #expect(c.labels["shared"] == "nil")
        #expect(c.labels["upper"] == "XY")
        #expect(c.labels["name"] == "web" && c.labels["owner"] == "nil" && c.labels["io"] == "nil")
    }

    @Test func grantsArePerScript() async throws {
        let path = "/tmp/berth-hook-grant-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let dir = try HookDir([
            "a.lua":
                "return { create = function() local f = assert(io.open('\(path)', 'w')); f:write('a'); f:close() end }",
            "b.lua":
                "return { create = function() return { labels = { io = tostring(io), remove = tostring(os.remove) } } end }",
        ])
        var settings = dir.settings()
        settings.scripts["a.lua"] = EngineConfiguration.ScriptPermissions(io: true)
        let e = engine
        try await e.load(settings: settings, config: .object([]))
        guard case .proceed(let c) = await e.run(.create, sampleContainer) else {
            Issue.record("create should proceed")
            return
        }
        #expect(FileManager.default.contents(atPath: path) == Data("a".utf8))
        #expect(c.labels == ["io": "nil", "remove": "nil"])
    }
}
