/// A mount described by a driver, performed by whoever decides where (the shim, inside the container's
/// mount namespace, or `withMountedLayer` on the host).
public struct MountSpec: Sendable, Equatable, Codable {
    /// Filesystem type such as `overlay`, or `bind`.
    public var type: String
    public var source: String
    /// Mount options such as `lowerdir=…,upperdir=…,workdir=…`, `ro`, `rbind`.
    public var options: [String]

    public init(type: String, source: String, options: [String] = []) {
        self.type = type
        self.source = source
        self.options = options
    }

    public var isBind: Bool { type == "bind" || options.contains("bind") || options.contains("rbind") }
}
