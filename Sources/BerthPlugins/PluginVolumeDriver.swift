import BerthCore

/// A volume driver plugin (`VolumeDriver.*`) as a `VolumeDriver`: `volume create -d NAME`,
/// `-v vol:/path --volume-driver NAME`, `--mount type=volume,volume-driver=NAME`.
public struct PluginVolumeDriver: VolumeDriver {
    public let name: String
    let registry: PluginRegistry

    static let kind = "VolumeDriver"

    /// Activates plugin `name` as a volume driver.
    public init(name: String, registry: PluginRegistry) async throws(BerthError) {
        self.name = name
        self.registry = registry
        try await registry.activate(name, implementing: Self.kind)
    }

    func call(_ method: String, _ body: JSONValue) async throws(BerthError) -> JSONValue {
        try await registry.call(name, kind: Self.kind, "VolumeDriver." + method, body)
    }

    public func create(name volume: String, options: [String: String]) async throws(BerthError) {
        _ = try await call("Create", .object([("Name", .string(volume)), ("Opts", .map(options))]))
    }

    public func remove(name volume: String) async throws(BerthError) {
        _ = try await call("Remove", .object([("Name", .string(volume))]))
    }

    public func mount(name volume: String, callerID: String) async throws(BerthError) -> String {
        let r = try await call("Mount", .object([("Name", .string(volume)), ("ID", .string(callerID))]))
        return try mountpoint(r, "Mount")
    }

    public func unmount(name volume: String, callerID: String) async throws(BerthError) {
        _ = try await call("Unmount", .object([("Name", .string(volume)), ("ID", .string(callerID))]))
    }

    public func path(name volume: String) async throws(BerthError) -> String {
        try mountpoint(try await call("Path", .object([("Name", .string(volume))])), "Path")
    }

    public func usage(name: String) async -> Int64 { -1 }

    /// The plugin's `Mountpoint`: an absolute host path, or the call failed.
    func mountpoint(_ answer: JSONValue, _ method: String) throws(BerthError) -> String {
        guard let path = answer["Mountpoint"]?.stringValue, path.hasPrefix("/"), !path.contains("/../") else {
            throw .internalError("plugin \"\(name)\": VolumeDriver.\(method) gave no absolute Mountpoint")
        }
        return path
    }
}
