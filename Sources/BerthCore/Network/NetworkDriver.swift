/// A network driver creates networks and the endpoints that join containers to them.
///
/// The lifecycle of a container on a network:
///
/// ```swift
/// try await driver.createNetwork(network)                     // once, when the network is made
/// let ep = try await driver.createEndpoint(network: n, endpointID: e)  // container create/start
/// let sandbox = driver.sandboxMode(network: n)                // decides the container's net namespace
/// let info = try await driver.join(network: n, endpointID: e, pid: pid) // after the shim cloned the container
/// try await driver.leave(network: n, endpointID: e)           // container stopped
/// try await driver.deleteEndpoint(network: n, endpointID: e)  // container removed
/// ```
public protocol NetworkDriver: Sendable {
    /// The driver's name (`none`, `host`, `bridge`, …).
    var name: String { get }

    /// How the container's network namespace is made for a container on this network.
    func sandboxMode(network: NetworkRecord) -> SandboxMode

    /// Creates the kernel objects of `network` (a bridge, rules). Idempotent.
    func createNetwork(_ network: NetworkRecord) async throws(BerthError)

    /// Removes the kernel objects of `network`.
    func deleteNetwork(_ network: NetworkRecord) async throws(BerthError)

    /// Reserves an endpoint (addresses) for a container.
    /// - Returns: the endpoint's addresses, which may be empty (`none`, `host`).
    func createEndpoint(network: NetworkRecord, endpointID: String) async throws(BerthError) -> EndpointInfo

    /// Wires the endpoint into the container whose first process is `pid`.
    func join(network: NetworkRecord, endpointID: String, pid: Int32) async throws(BerthError) -> EndpointInfo

    /// Unwires the endpoint; the container has stopped. Teardown: logs and continues rather than throws.
    func leave(network: NetworkRecord, endpointID: String) async

    /// Releases the endpoint's addresses.
    func deleteEndpoint(network: NetworkRecord, endpointID: String) async
}

extension NetworkDriver {
    public func createNetwork(_ network: NetworkRecord) async throws(BerthError) {}
    public func deleteNetwork(_ network: NetworkRecord) async throws(BerthError) {}
    public func createEndpoint(network: NetworkRecord, endpointID: String) async throws(BerthError) -> EndpointInfo {
        EndpointInfo()
    }
    public func join(network: NetworkRecord, endpointID: String, pid: Int32) async throws(BerthError) -> EndpointInfo {
        EndpointInfo()
    }
    public func leave(network: NetworkRecord, endpointID: String) async {}
    public func deleteEndpoint(network: NetworkRecord, endpointID: String) async {}
}

/// How a container's network namespace is made.
public enum SandboxMode: Sendable, Equatable {
    /// A new network namespace with only loopback, brought up by the shim.
    case isolated
    /// The host's network namespace (no `CLONE_NEWNET`).
    case host
}

/// A network as the daemon records it.
public struct NetworkRecord: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var driver: String
    public var created: String
    public var labels: [String: String]
    public var options: [String: String]
    public var isInternal: Bool

    public init(
        id: String, name: String, driver: String, created: String, labels: [String: String] = [:],
        options: [String: String] = [:], isInternal: Bool = false
    ) {
        self.id = id
        self.name = name
        self.driver = driver
        self.created = created
        self.labels = labels
        self.options = options
        self.isInternal = isInternal
    }
}

/// What an endpoint got: addresses, gateway, MAC. Empty for `none` and `host`.
public struct EndpointInfo: Sendable, Equatable {
    public var ipAddress: String = ""
    public var prefixLength: Int = 0
    public var gateway: String = ""
    public var macAddress: String = ""
    /// The interface the shim wires into the container (nil: nothing to wire, as `none` and `host`).
    public var interface: ShimSpec.Interface?
    public init() {}
}
