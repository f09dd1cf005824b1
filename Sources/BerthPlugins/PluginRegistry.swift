import BerthAPIClient
import BerthCore
import Logging

/// What `plugin ls` and `info` show of a plugin.
public struct PluginStatus: Sendable, Equatable {
    public var name: String
    public var address: String
    /// The subsystems from `/Plugin.Activate` (empty until it answered).
    public var implements: [String]
    /// `active`, or why it is not.
    public var state: String
}

/// The plugins of the daemon: discovered in the configured directories when first named, activated with
/// `/Plugin.Activate`, and called with Docker's plugin protocol (POST, JSON, `{"Err"}` errors) on a blocking
/// runner. A plugin that is down is activated again at its next use (so a restarted plugin, or one that came
/// back on a new socket, is picked up); every failure is an error that names the plugin, never a crash.
public actor PluginRegistry {
    struct Active {
        var endpoint: PluginEndpoint
        var implements: [String]
    }

    let dirs: [String]
    let timeoutSeconds: Int
    let runner: any BlockingRunner
    let logger: Logger
    private var active: [String: Active] = [:]
    private var failures: [String: String] = [:]

    public init(dirs: [String], timeoutSeconds: Int, runner: any BlockingRunner, logger: Logger) {
        self.dirs = dirs
        self.timeoutSeconds = timeoutSeconds
        self.runner = runner
        self.logger = logger
    }

    /// Activates plugin `name` if needed and checks that it implements `kind` (`VolumeDriver`, …).
    /// - Throws: `.notFound` when no directory has it; `.invalidArgument` when it implements something else.
    @discardableResult
    public func activate(_ name: String, implementing kind: String) async throws(BerthError) -> [String] {
        let entry = try await activated(name)
        guard entry.implements.contains(kind) else {
            throw .invalidArgument(
                "plugin \"\(name)\" does not implement \(kind) (it implements \(entry.implements.joined(separator: ", ")))"
            )
        }
        return entry.implements
    }

    private func activated(_ name: String) async throws(BerthError) -> Active {
        if let entry = active[name] { return entry }
        guard let endpoint = try PluginDiscovery.find(name, in: dirs) else {
            throw .notFound("error looking up plugin \(name): plugin \"\(name)\" not found")
        }
        let answer: JSONValue
        do {
            answer = try await send(endpoint, "Plugin.Activate", nil)
        } catch {
            failures[name] = error.message
            throw error
        }
        let implements = answer["Implements"]?.stringArray ?? []
        let entry = Active(endpoint: endpoint, implements: implements)
        active[name] = entry
        failures[name] = nil
        logger.info(
            "plugin activated",
            metadata: ["plugin": "\(name)", "address": "\(endpoint.address)", "implements": "\(implements)"])
        return entry
    }

    /// Calls `/METHOD` of plugin `name` (activated as `kind`). A plugin that cannot be reached is activated
    /// again once, for a plugin that restarted.
    public func call(_ name: String, kind: String, _ method: String, _ body: JSONValue?) async throws(BerthError)
        -> JSONValue
    {
        try await activate(name, implementing: kind)
        guard let entry = active[name] else { throw .internalError("plugin \(name) lost its activation") }
        do {
            return try await send(entry.endpoint, method, body)
        } catch  where error.code == .unavailable {
            logger.info("plugin unreachable, activating again", metadata: ["plugin": "\(name)"])
            active[name] = nil
            try await activate(name, implementing: kind)
            guard let again = active[name] else { throw error }
            return try await send(again.endpoint, method, body)
        }
    }

    /// Every plugin in the directories, activated to learn what it implements.
    public func list() async -> [PluginStatus] {
        var out: [PluginStatus] = []
        for endpoint in PluginDiscovery.all(in: dirs) {
            do {
                let entry = try await activated(endpoint.name)
                out.append(
                    PluginStatus(
                        name: endpoint.name, address: entry.endpoint.address, implements: entry.implements,
                        state: "active"))
            } catch {
                out.append(
                    PluginStatus(name: endpoint.name, address: endpoint.address, implements: [], state: error.message))
            }
        }
        return out
    }

    /// Names of the active plugins implementing `kind` (for `info`).
    public func activeNames(implementing kind: String) -> [String] {
        active.filter { $0.value.implements.contains(kind) }.keys.sorted()
    }

    private func send(_ endpoint: PluginEndpoint, _ method: String, _ body: JSONValue?) async throws(BerthError)
        -> JSONValue
    {
        let timeout = timeoutSeconds
        return try await runner.run { () throws(BerthError) -> JSONValue in
            try PluginCall.perform(endpoint, method, body, timeoutSeconds: timeout)
        }
    }
}

/// One blocking call of the plugin protocol.
enum PluginCall {
    static func perform(_ endpoint: PluginEndpoint, _ method: String, _ body: JSONValue?, timeoutSeconds: Int)
        throws(BerthError) -> JSONValue
    {
        var client = APIClient(host: endpoint.address)
        client.timeoutSeconds = timeoutSeconds
        client.pathPrefix = ""
        let name = endpoint.name
        let response: APIClient.Response
        do {
            response = try client.call(
                "POST", "/" + method,
                headers: [
                    ("Accept", "application/vnd.docker.plugins.v1.2+json"), ("Content-Type", "application/json"),
                ],
                body: body.map { Array($0.serialized.utf8) } ?? [])
        } catch {
            switch error.code {
            case .timeout:
                throw BerthError(.timeout, "plugin \"\(name)\" did not answer \(method) within \(timeoutSeconds)s")
            default:
                throw BerthError(
                    .unavailable, "plugin \"\(name)\" is not reachable at \(endpoint.address) (\(method))",
                    cause: error)
            }
        }
        let text = String(decoding: response.body.prefix(300), as: UTF8.self)
        let json = try? JSONValue.parse(bytes: response.body)
        let problem = json?["Err"]?.stringValue ?? json?["Error"]?.stringValue ?? ""
        guard response.status == 200 else {
            let detail = problem.isEmpty ? text.trimmingSpaces : problem
            throw BerthError(
                response.status == 404 ? .unsupported : .internalError,
                "plugin \"\(name)\": \(method): \(detail.isEmpty ? "HTTP \(response.status)" : detail)")
        }
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }) { return .object([]) }
        guard let json else {
            throw .internalError("plugin \"\(name)\" answered \(method) with malformed JSON: \(text)")
        }
        guard problem.isEmpty else { throw .internalError("plugin \"\(name)\": \(method): \(problem)") }
        return json
    }
}
