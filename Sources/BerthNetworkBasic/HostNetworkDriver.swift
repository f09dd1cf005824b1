import BerthCore

/// `host`: the container shares the host's network namespace (no `CLONE_NEWNET`).
public struct HostNetworkDriver: NetworkDriver {
    public init() {}
    public var name: String { "host" }
    public func sandboxMode(network: NetworkRecord) -> SandboxMode { .host }
}
