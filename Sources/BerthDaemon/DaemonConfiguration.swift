import BerthCore

/// Where the daemon keeps its state and what it serves (ARCHITECTURE §2 defaults).
public struct DaemonConfiguration: Sendable {
    public var root = "/var/lib/berth"
    public var execRoot = "/run/berth"
    public var hosts: [String] = []
    public var storageDriver = "overlay"
    public var defaultNetwork = "none"
    public var logLevel = "info"
    /// The `berth-shim` executable (next to `berthd` by default).
    public var shimPath = ""
    /// Version strings shown by `version` and `info`.
    public var version = "0.1.0"

    public init() {}

    public var defaultHost: String { "unix://\(execRoot)/berth.sock" }
    public var containersDir: String { root + "/containers" }
    public var stateDir: String { execRoot + "/containers" }
    /// The cgroup parent below each controller's root.
    public var cgroupParent: String { "berth" }
}
