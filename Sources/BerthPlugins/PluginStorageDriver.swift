import BerthArchive
import BerthCore
import BerthOS
import CBerthLinux
import Glibc
import Synchronization

/// A storage driver plugin (`GraphDriver.*`, the protocol of Docker's graph driver plugins) as a
/// `StorageDriver`: `berthd --storage-driver NAME` or `storage = { driver = "NAME" }` in config.lua.
///
/// Layers map to `Create` (image layers) and `CreateReadWrite` (containers' layers); a layer's tar goes to
/// `ApplyDiff` uncompressed, as Docker sends it; `Get` gives the directory holding a layer's merged root
/// filesystem, which containers get as a bind mount; `Put` before `Remove` and at shutdown.
///
/// Berth keeps beside the plugin's home (`<root>/storage/NAME`) a small file of each layer's parent
/// (`<root>/storage/NAME.layers.json`), because `DiffSize` needs it.
public final class PluginStorageDriver: StorageDriver {
    public let name: String
    let registry: PluginRegistry
    let home: String
    let layersFile: String
    let applyTimeout: Int

    static let kind = "GraphDriver"

    struct State {
        /// Each layer's parent ("" for a base layer).
        var parents: [String: String] = [:]
        /// Layers this daemon has `Get` and not yet `Put`, with the directory the plugin gave.
        var mounted: [String: String] = [:]
    }
    private let state = Mutex(State())

    let waitSeconds: Int

    /// Plugin `name` as the storage driver, with its layers under `home`; nothing is called before `start()`.
    public init(name: String, registry: PluginRegistry, home: String, waitSeconds: Int = 30) {
        self.name = name
        self.registry = registry
        self.home = home
        self.layersFile = home + ".layers.json"
        self.applyTimeout = max(600, registry.timeoutSeconds)
        self.waitSeconds = waitSeconds
    }

    /// Activates the plugin (waiting up to `waitSeconds` for it to appear, as a plugin the daemon starts itself
    /// may not be listening yet); its `Init` with the home directory follows this and every later activation
    /// (a plugin that restarted knows nothing).
    public func start() async throws(BerthError) {
        let parent = String(home[..<(home.lastIndex(of: "/") ?? home.endIndex)])
        try FileSystem.createDirectory(parent, mode: 0o700)
        await registry.onActivation(
            name, call: "GraphDriver.Init",
            .object([
                ("Home", .string(home)), ("Opts", .array([])), ("UIDMaps", .array([])), ("GIDMaps", .array([])),
            ]))
        await registry.forget(name)  // activated again now, so Init follows
        let deadline = berth_monotonic_ns() + Int64(waitSeconds) * 1_000_000_000
        while true {
            do {
                try await registry.activate(name, implementing: Self.kind)
                break
            } catch  where error.code == .notFound || error.code == .unavailable {
                if berth_monotonic_ns() >= deadline {
                    throw BerthError(
                        error.code, "storage driver \(name): \(error.message) (waited \(waitSeconds)s for the plugin)")
                }
                try? await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        if let bytes = try? FileSystem.readFile(layersFile), let json = try? JSONValue.parse(bytes: bytes) {
            state.withLock { $0.parents = json.stringMap ?? [:] }
        }
    }

    func call(_ method: String, _ body: JSONValue) async throws(BerthError) -> JSONValue {
        try await registry.call(name, kind: Self.kind, "GraphDriver." + method, body)
    }

    static func request(_ id: String, parent: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("ID", .string(id))]
        if let parent, !parent.isEmpty { members.append(("Parent", .string(parent))) }
        return .object(members)
    }

    private func saveParents() throws(BerthError) {
        let parents = state.withLock { $0.parents }
        try FileSystem.writeFileAtomic(layersFile, JSONValue.map(parents).serialized, mode: 0o600)
    }

    private func record(_ id: String, parent: String?) throws(BerthError) {
        state.withLock { $0.parents[id] = parent ?? "" }
        try saveParents()
    }

    private func unrecord(_ id: String) throws(BerthError) {
        state.withLock { _ = $0.parents.removeValue(forKey: id) }
        try saveParents()
    }

    /// Layer IDs, parents and duplicates are checked against the layers made through this driver, so the
    /// errors are Berth's whatever the plugin answers.
    private func checkNew(_ id: String, parent: String?) throws(BerthError) {
        guard EngineConfiguration.Plugins.isValidName(id) else { throw .invalidArgument("invalid layer ID \(id)") }
        let (exists, parentExists) = state.withLock { s in
            (s.parents[id] != nil, parent.map { s.parents[$0] != nil } ?? true)
        }
        if exists { throw .conflict("layer \(id) already exists") }
        if !parentExists { throw .notFound("parent layer \(parent ?? "") not found") }
    }

    private func checkKnown(_ id: String) throws(BerthError) {
        if state.withLock({ $0.parents[id] == nil }) { throw .notFound("layer \(id) not found") }
    }

    public func createLayer(id: String, parent: String?, applying archivePath: String?) async throws(BerthError)
        -> Int64
    {
        try checkNew(id, parent: parent)
        _ = try await call("Create", Self.request(id, parent: parent))
        do {
            var size: Int64 = 0
            if let archivePath { size = try await apply(id: id, parent: parent, archivePath: archivePath) }
            try record(id, parent: parent)
            return size
        } catch {
            _ = try? await call("Remove", Self.request(id))
            throw error
        }
    }

    /// `ApplyDiff?id=&parent=` with the layer's tar, decompressed first (a plugin gets a plain tar).
    private func apply(id: String, parent: String?, archivePath: String) async throws(BerthError) -> Int64 {
        let tmpDir = home + ".tmp"
        try FileSystem.createDirectory(tmpDir, mode: 0o700)
        let plain = "\(tmpDir)/\(id).tar"
        defer { unlink(plain) }
        _ = try ArchiveDigest.decompress(path: archivePath, to: plain)
        var query = [("id", id)]
        if let parent, !parent.isEmpty { query.append(("parent", parent)) }
        do {
            let reply = try await registry.upload(
                name, kind: Self.kind, "GraphDriver.ApplyDiff", query: query, path: plain, timeoutSeconds: applyTimeout)
            return reply["Size"]?.int64Value ?? 0
        } catch  where error.code == .internalError {
            // The plugin refused the layer (its `Err`): the layer's content is at fault, as for the built-in
            // drivers.
            throw .invalidArgument(error.message)
        }
    }

    public func prepare(id: String, parent: String?) async throws(BerthError) -> [MountSpec] {
        try checkNew(id, parent: parent)
        _ = try await call("CreateReadWrite", Self.request(id, parent: parent))
        do {
            try record(id, parent: parent)
            return try await mounts(for: id)
        } catch {
            _ = try? await call("Remove", Self.request(id))
            try? unrecord(id)
            throw error
        }
    }

    /// The layer's directory from `Get` (once per layer while this daemon runs), bind-mounted.
    public func mounts(for id: String) async throws(BerthError) -> [MountSpec] {
        try checkKnown(id)
        let dir = try await directory(id)
        return [MountSpec(type: "bind", source: dir, options: ["rbind"])]
    }

    private func directory(_ id: String) async throws(BerthError) -> String {
        if let dir = state.withLock({ $0.mounted[id] }) { return dir }
        let reply = try await call("Get", .object([("ID", .string(id)), ("MountLabel", .string(""))]))
        guard let dir = reply["Dir"]?.stringValue, dir.hasPrefix("/"), !dir.contains("/../") else {
            throw .internalError("plugin \"\(name)\": GraphDriver.Get gave no absolute Dir for layer \(id)")
        }
        let first = state.withLock { s -> Bool in
            if s.mounted[id] != nil { return false }
            s.mounted[id] = dir
            return true
        }
        // Two callers raced: the plugin counted two references; give one back.
        if !first { _ = try? await call("Put", Self.request(id)) }
        return state.withLock { $0.mounted[id] } ?? dir
    }

    public func exists(id: String) async -> Bool {
        (try? await call("Exists", Self.request(id)))?["Exists"]?.boolValue ?? false
    }

    public func remove(id: String) async throws(BerthError) {
        try checkKnown(id)
        let isParent = state.withLock { s in s.parents.values.contains(id) }
        if isParent { throw .conflict("layer \(id) has child layers") }
        if state.withLock({ $0.mounted.removeValue(forKey: id) }) != nil {
            _ = try? await call("Put", Self.request(id))
        }
        do {
            _ = try await call("Remove", Self.request(id))
        } catch {
            if await exists(id: id) { throw error }  // gone all the same: the plugin had lost it
        }
        try unrecord(id)
    }

    public func usage(id: String) async throws(BerthError) -> Int64 {
        let parent = state.withLock { $0.parents[id] }
        let reply = try await call("DiffSize", Self.request(id, parent: parent))
        return reply["Size"]?.int64Value ?? 0
    }

    public func info() async -> [(String, String)] {
        var out: [(String, String)] = [("Plugin", name)]
        if let status = try? await call("Status", .object([])) {
            for pair in status["Status"]?.arrayValue ?? [] {
                if let kv = pair.stringArray, kv.count == 2 { out.append((kv[0], kv[1])) }
            }
        }
        return out
    }

    public func metadata(id: String) async -> [String: String] {
        (try? await call("GetMetadata", Self.request(id)))?["Metadata"]?.stringMap ?? [:]
    }

    /// The files of the layer as the plugin's `Get` directory holds them (already merged by the plugin).
    public func mergedTree(id: String) async throws(BerthError) -> [TreeEntry] {
        try checkKnown(id)
        return try DirectoryTree.entries(of: try await directory(id))
    }

    /// `Put` of every layer this daemon got, then `Cleanup`.
    public func shutdown() async {
        let ids = state.withLock { s -> [String] in
            defer { s.mounted = [:] }
            return Array(s.mounted.keys)
        }
        for id in ids { _ = try? await call("Put", Self.request(id)) }
        _ = try? await call("Cleanup", .object([]))
    }
}
