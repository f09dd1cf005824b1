import BerthAPIClient
import BerthCore
import BerthImage
import BerthOS
import Glibc
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
    /// A call sent right after each activation of a plugin, before any other (a graph driver's `Init`, which
    /// a restarted plugin needs again).
    private var activationCalls: [String: (method: String, body: JSONValue)] = [:]

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
        if let first = activationCalls[name] {
            do { _ = try await send(endpoint, first.method, first.body) } catch {
                failures[name] = error.message
                throw error
            }
        }
        let entry = Active(endpoint: endpoint, implements: implements)
        active[name] = entry
        failures[name] = nil
        logger.info(
            "plugin activated",
            metadata: ["plugin": "\(name)", "address": "\(endpoint.address)", "implements": "\(implements)"])
        return entry
    }

    /// Forgets plugin `name`'s activation (its process went away): its next use activates it again.
    public func forget(_ name: String) {
        active[name] = nil
    }

    /// Sends `/METHOD` with `body` to plugin `name` after each of its activations, before anything else.
    public func onActivation(_ name: String, call method: String, _ body: JSONValue) {
        activationCalls[name] = (method, body)
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

    /// Calls `/METHOD?query` of plugin `name` with the contents of file `path` as the body (a tar for
    /// `GraphDriver.ApplyDiff`), waiting at most `timeoutSeconds` for each read or write.
    public func upload(
        _ name: String, kind: String, _ method: String, query: [(String, String)], path: String, timeoutSeconds: Int
    ) async throws(BerthError) -> JSONValue {
        try await activate(name, implementing: kind)
        guard let entry = active[name] else { throw .internalError("plugin \(name) lost its activation") }
        let endpoint = entry.endpoint
        return try await runner.run { () throws(BerthError) -> JSONValue in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Syscall.error("open \(path)", errno: errno) }
            defer { close(fd) }
            return try PluginCall.perform(
                endpoint, method, query: query, body: .file(fd), timeoutSeconds: timeoutSeconds)
        }
    }

    private func send(_ endpoint: PluginEndpoint, _ method: String, _ body: JSONValue?) async throws(BerthError)
        -> JSONValue
    {
        let timeout = timeoutSeconds
        return try await runner.run { () throws(BerthError) -> JSONValue in
            try PluginCall.perform(endpoint, method, body: .json(body), timeoutSeconds: timeout)
        }
    }
}

/// One blocking call of the plugin protocol: over a unix socket or TCP with Berth's small HTTP client, over
/// TLS with libcurl.
enum PluginCall {
    enum Body {
        /// JSON, or an empty body for nil.
        case json(JSONValue?)
        /// A file's contents (its descriptor, read to the end).
        case file(Int32)
    }

    static func exchange(
        _ endpoint: PluginEndpoint, _ method: String, query: [(String, String)], body: Body, timeoutSeconds: Int
    ) throws(BerthError) -> APIClient.Response {
        let accept = ("Accept", "application/vnd.docker.plugins.v1.2+json")
        guard let tls = endpoint.tls else {
            var client = APIClient(host: endpoint.address)
            client.timeoutSeconds = timeoutSeconds
            client.pathPrefix = ""
            switch body {
            case .json(let json):
                return try client.call(
                    "POST", "/" + method, query: query, headers: [accept, ("Content-Type", "application/json")],
                    body: json.map { Array($0.serialized.utf8) } ?? [])
            case .file(let fd):
                return try client.call("POST", "/" + method, query: query, headers: [accept], bodyFrom: fd)
            }
        }
        var url = endpoint.address + "/" + method
        if !query.isEmpty {
            url +=
                "?"
                + query.map { "\(APIClient.percentEncode($0.0))=\(APIClient.percentEncode($0.1))" }
                .joined(separator: "&")
        }
        var transfer = CurlTransfer(url: url)
        transfer.method = "POST"
        transfer.headers = ["\(accept.0): \(accept.1)"]
        transfer.caFile = tls.caFile.isEmpty ? nil : tls.caFile
        transfer.certFile = tls.certFile.isEmpty ? nil : tls.certFile
        transfer.keyFile = tls.keyFile.isEmpty ? nil : tls.keyFile
        transfer.verifyPeer = !tls.insecureSkipVerify
        transfer.timeoutSeconds = timeoutSeconds
        switch body {
        case .json(let json):
            transfer.headers.append("Content-Type: application/json")
            transfer.body = json.map { Array($0.serialized.utf8) } ?? []
        case .file(let fd):
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw Syscall.error("stat the request body", errno: errno) }
            transfer.inputFD = fd
            transfer.inputSize = Int64(st.st_size)
        }
        do {
            let r = try transfer.perform()
            return APIClient.Response(status: r.status, headers: r.headers, body: r.body)
        } catch {
            throw BerthError(error.message.contains("timed out") ? .timeout : .unavailable, error.message)
        }
    }

    static func perform(
        _ endpoint: PluginEndpoint, _ method: String, query: [(String, String)] = [], body: Body, timeoutSeconds: Int
    ) throws(BerthError) -> JSONValue {
        let name = endpoint.name
        let response: APIClient.Response
        do {
            response = try exchange(endpoint, method, query: query, body: body, timeoutSeconds: timeoutSeconds)
        } catch {
            switch error.code {
            case .timeout:
                throw BerthError(.timeout, "plugin \"\(name)\" did not answer \(method) within \(timeoutSeconds)s")
            default:
                // libcurl's reason (a refused certificate, say) helps; the socket client's names the daemon.
                let detail = endpoint.tls == nil ? "" : ": \(error.message)"
                throw BerthError(
                    .unavailable, "plugin \"\(name)\" is not reachable at \(endpoint.address) (\(method))\(detail)",
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
