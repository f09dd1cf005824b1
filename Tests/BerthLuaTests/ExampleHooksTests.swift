import BerthCore
import BerthLua
import Foundation
import Testing

/// The shipped examples in lua/hooks, loaded together as an operator would install them.
@Suite struct ExampleHooksTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("lua/hooks").path

    func loaded() async throws -> (HookEngine, LogRecorder) {
        let recorder = LogRecorder()
        let engine = HookEngine(logger: recorder.logger, version: "0.1.0")
        var settings = EngineConfiguration.Hooks()
        settings.dir = Self.dir
        let infos = try await engine.load(settings: settings, config: .object([]))
        #expect(infos.map(\.name) == ["audit.lua", "default-memory.lua", "require-owner.lua"])
        return (engine, recorder)
    }

    func container(labels: [String: String], memory: Int64? = nil) -> JSONValue {
        var o = sampleContainer
        o["labels"] = .map(labels)
        o["limits"] = memory.map { .object([("memory", .integer($0))]) } ?? .object([])
        return o
    }

    @Test func ownerPolicyRefusesUnlabelledContainers() async throws {
        let (engine, _) = try await loaded()
        let outcome = await engine.run(.create, container(labels: [:]))
        guard case .refused(let script, let reason) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        #expect(script == "require-owner.lua")
        #expect(reason == "containers need an owner label (run with -l owner=NAME)")
        guard case .refused = await engine.run(.create, container(labels: ["owner": ""])) else {
            Issue.record("an empty owner is refused too")
            return
        }
    }

    @Test func defaultMemoryOnlyWhenNoneIsSet() async throws {
        let (engine, _) = try await loaded()
        guard case .proceed(let c) = await engine.run(.create, container(labels: ["owner": "alice"])) else {
            Issue.record("an owned container proceeds")
            return
        }
        #expect(c.memory == 256 << 20)
        #expect(c.labels == ["berth.default-memory": "256m"])
        #expect(c.scripts == ["default-memory.lua"])
        guard case .proceed(let kept) = await engine.run(.create, container(labels: ["owner": "a"], memory: 64 << 20))
        else { return }
        #expect(kept.isEmpty && kept.memory == nil)
    }

    @Test func auditLogsEveryEventWithItsFields() async throws {
        let (engine, recorder) = try await loaded()
        _ = await engine.run(.create, container(labels: ["owner": "alice"]))
        var prestart = container(labels: ["owner": "alice"])
        prestart["event"] = .string("prestart")
        _ = await engine.run(.prestart, prestart)
        for event in [HookEvent.poststart, .stop, .poststop, .remove] {
            var o = container(labels: ["owner": "alice"])
            o["event"] = .string(event.rawValue)
            o["pid"] = .integer(42)
            engine.notify(event, o)
        }
        engine.notify(
            .delete, .object([("event", .string("delete")), ("id", .string("sha256:1")), ("tags", .strings(["a:1"]))]))
        await engine.drain()
        let audit = recorder.messages(.info).filter { $0.hasPrefix("audit: ") }
        #expect(
            audit == [
                "audit: container create", "audit: container prestart", "audit: container poststart",
                "audit: container stop", "audit: container poststop", "audit: container remove", "audit: image delete",
            ])
        let poststart = recorder.metadata(of: "audit: container poststart")
        #expect(poststart?["name"] == "web" && poststart?["pid"] == "42" && poststart?["count"] == "1")
        #expect(poststart?["command"] == "sh -c true" && poststart?["script"] == "audit.lua")
        #expect(recorder.metadata(of: "audit: image delete")?["tags"] == "a:1")
    }
}
