import BerthCore

/// `none`: a network namespace of the container's own with only loopback, brought up by the shim.
public struct NoneNetworkDriver: NetworkDriver {
    public init() {}
    public var name: String { "none" }
    public func sandboxMode(network: NetworkRecord) -> SandboxMode { .isolated }
}
