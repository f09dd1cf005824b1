import BerthCore

/// A remote network driver plugin (`NetworkDriver.*`, Docker's libnetwork remote API): `network create -d NAME`
/// and the endpoints of the containers on such a network. The daemon allocates the addresses (its own IPAM or
/// an `IpamDriver` plugin) and passes them in; the plugin makes an interface on the host in `Join`, which the
/// shim moves into the container.
public struct PluginNetworkDriver: Sendable {
    public let name: String
    let registry: PluginRegistry

    static let kind = "NetworkDriver"

    /// What `Join` answered: the host interface to move in, how to name it, and its routes.
    public struct Joined: Sendable, Equatable {
        public var sourceName: String
        public var destinationPrefix: String
        public var gateway: String
        public var routes: [ShimSpec.Interface.Route]
    }

    /// Plugin `name` as a network driver (activated at its first call, or by `activate()`).
    public init(name: String, registry: PluginRegistry) {
        self.name = name
        self.registry = registry
    }

    /// Activates the plugin now: an early error when it is missing or is no network driver.
    public func activate() async throws(BerthError) {
        try await registry.activate(name, implementing: Self.kind)
    }

    func call(_ method: String, _ body: JSONValue) async throws(BerthError) -> JSONValue {
        try await registry.call(name, kind: Self.kind, "NetworkDriver." + method, body)
    }

    /// `CreateNetwork` with the network's IPv4 pool and gateway ("a.b.c.d/n") and the user's `-o` options.
    public func createNetwork(
        id: String, options: [String: String], addressSpace: String, pool: IPv4Subnet, gateway: IPv4Address
    ) async throws(BerthError) {
        _ = try await call(
            "CreateNetwork",
            .object([
                ("NetworkID", .string(id)),
                (
                    "Options",
                    .object([
                        ("com.docker.network.generic", .map(options)),
                        ("com.docker.network.enable_ipv6", .bool(false)),
                    ])
                ),
                (
                    "IPv4Data",
                    .array([
                        .object([
                            ("AddressSpace", .string(addressSpace)), ("Pool", .string(pool.description)),
                            ("Gateway", .string("\(gateway)/\(pool.prefixLength)")), ("AuxAddresses", .object([])),
                        ])
                    ])
                ),
                ("IPv6Data", .array([])),
            ]))
    }

    public func deleteNetwork(id: String) async throws(BerthError) {
        _ = try await call("DeleteNetwork", .object([("NetworkID", .string(id))]))
    }

    /// `CreateEndpoint` with the address ("a.b.c.d/n") and MAC the daemon chose.
    /// - Returns: a MAC address the plugin chose when the daemon gave none (empty otherwise).
    public func createEndpoint(network: String, endpoint: String, address: String, macAddress: String)
        async throws(BerthError) -> String
    {
        let reply = try await call(
            "CreateEndpoint",
            .object([
                ("NetworkID", .string(network)), ("EndpointID", .string(endpoint)),
                (
                    "Interface",
                    .object([
                        ("Address", .string(address)), ("AddressIPv6", .string("")),
                        ("MacAddress", .string(macAddress)),
                    ])
                ),
                ("Options", .object([])),
            ]))
        let given = reply["Interface"]
        if let other = given?["Address"]?.stringValue, !other.isEmpty, other != address {
            try? await deleteEndpoint(network: network, endpoint: endpoint)
            throw .internalError(
                "plugin \"\(name)\": NetworkDriver.CreateEndpoint: the engine gave the address \(address); the plugin must not answer another (\(other))"
            )
        }
        let mac = macAddress.isEmpty ? given?["MacAddress"]?.stringValue ?? "" : ""
        if !mac.isEmpty, mac.split(separator: ":").compactMap({ UInt8($0, radix: 16) }).count != 6 {
            try? await deleteEndpoint(network: network, endpoint: endpoint)
            throw .internalError("plugin \"\(name)\": NetworkDriver.CreateEndpoint: bad MacAddress \(mac)")
        }
        return mac
    }

    public func deleteEndpoint(network: String, endpoint: String) async throws(BerthError) {
        _ = try await call(
            "DeleteEndpoint", .object([("NetworkID", .string(network)), ("EndpointID", .string(endpoint))]))
    }

    /// Join option by which Berth lets a plugin make `SrcName` inside `SandboxKey` rather than on the host
    /// (moving a link between namespaces costs an RCU wait; Docker never sends it, so plugins that know it
    /// still work with Docker).
    public static let linkInSandbox = "io.berth.link-in-sandbox"

    /// `Join`: the interface the plugin made for the endpoint, for the container whose network namespace is at
    /// `sandboxKey`; `offerInside`: the plugin may make it inside that namespace.
    public func join(network: String, endpoint: String, sandboxKey: String, offerInside: Bool) async throws(BerthError)
        -> Joined
    {
        let reply = try await call(
            "Join",
            .object([
                ("NetworkID", .string(network)), ("EndpointID", .string(endpoint)),
                ("SandboxKey", .string(sandboxKey)),
                ("Options", .object(offerInside ? [(Self.linkInSandbox, .bool(true))] : [])),
            ]))
        let source = reply["InterfaceName"]?["SrcName"]?.stringValue ?? ""
        let prefix = reply["InterfaceName"]?["DstPrefix"]?.stringValue ?? ""
        do throws(BerthError) {
            guard Self.isInterfaceName(source) else {
                throw .internalError("plugin \"\(name)\": NetworkDriver.Join gave no usable InterfaceName.SrcName")
            }
            guard prefix.isEmpty || Self.isInterfaceName(prefix + "0") else {
                throw .internalError("plugin \"\(name)\": NetworkDriver.Join: bad DstPrefix \"\(prefix)\"")
            }
            let gateway = reply["Gateway"]?.stringValue ?? ""
            guard gateway.isEmpty || IPv4Address(gateway) != nil else {
                throw .internalError("plugin \"\(name)\": NetworkDriver.Join: bad Gateway \"\(gateway)\"")
            }
            var routes: [ShimSpec.Interface.Route] = []
            for r in reply["StaticRoutes"]?.arrayValue ?? [] {
                let destination = r["Destination"]?.stringValue ?? ""
                let connected = r["RouteType"]?.intValue == 1
                let hop = connected ? "" : r["NextHop"]?.stringValue ?? ""
                guard IPv4Subnet(destination) != nil, connected || IPv4Address(hop) != nil else {
                    throw .internalError(
                        "plugin \"\(name)\": NetworkDriver.Join: bad static route \(r.serialized) (IPv4 only)")
                }
                routes.append(.init(destination: destination, nextHop: hop))
            }
            return Joined(
                sourceName: source, destinationPrefix: prefix.isEmpty ? "eth" : prefix, gateway: gateway,
                routes: routes)
        } catch {
            await leave(network: network, endpoint: endpoint)
            throw error
        }
    }

    /// `Leave`; teardown: a failure is the caller's to log.
    public func leave(network: String, endpoint: String) async {
        _ = try? await call("Leave", .object([("NetworkID", .string(network)), ("EndpointID", .string(endpoint))]))
    }

    /// A Linux interface name: 1 to 15 bytes, no `/`, `:` or white space.
    static func isInterfaceName(_ s: String) -> Bool {
        (1...15).contains(s.utf8.count) && s != "." && s != ".."
            && !s.unicodeScalars.contains { !$0.isASCII || $0 == "/" || $0 == ":" || $0.properties.isWhitespace }
    }
}

/// A remote IPAM plugin (`IpamDriver.*`): `network create --ipam-driver NAME`. Its errors come in `Error`.
public struct PluginIpamDriver: Sendable {
    public let name: String
    let registry: PluginRegistry

    static let kind = "IpamDriver"
    /// `RequestAddress` option naming the gateway's request.
    static let gatewayRequest = "com.docker.network.gateway"

    public init(name: String, registry: PluginRegistry) {
        self.name = name
        self.registry = registry
    }

    public func activate() async throws(BerthError) {
        try await registry.activate(name, implementing: Self.kind)
    }

    func call(_ method: String, _ body: JSONValue?) async throws(BerthError) -> JSONValue {
        try await registry.call(name, kind: Self.kind, "IpamDriver." + method, body)
    }

    /// The plugin's local address space.
    public func defaultAddressSpace() async throws(BerthError) -> String {
        try await call("GetDefaultAddressSpaces", nil)["LocalDefaultAddressSpace"]?.stringValue ?? ""
    }

    /// `RequestPool`: the pool `requested` (nil: the plugin chooses).
    /// - Returns: the pool's ID, the pool, and the gateway when the plugin names one in its data.
    public func requestPool(space: String, requested: IPv4Subnet?, options: [String: String])
        async throws(BerthError) -> (id: String, pool: IPv4Subnet, gateway: IPv4Address?)
    {
        let reply = try await call(
            "RequestPool",
            .object([
                ("AddressSpace", .string(space)), ("Pool", .string(requested?.description ?? "")),
                ("SubPool", .string("")), ("Options", .map(options)), ("V6", .bool(false)),
            ]))
        let text = reply["Pool"]?.stringValue ?? ""
        guard let id = reply["PoolID"]?.stringValue, !id.isEmpty, let pool = IPv4Subnet(text), pool.prefixLength <= 30
        else {
            throw .internalError("plugin \"\(name)\": IpamDriver.RequestPool gave no usable PoolID and IPv4 Pool")
        }
        let gatewayText = reply["Data"]?[Self.gatewayRequest]?.stringValue ?? ""
        let gateway = IPv4Address(gatewayText.split(separator: "/").first ?? "")
        return (id, pool, gateway)
    }

    public func releasePool(_ id: String) async throws(BerthError) {
        _ = try await call("ReleasePool", .object([("PoolID", .string(id))]))
    }

    /// `RequestAddress` in pool `pool`: `preferred` or any free one; `gateway` marks the gateway's request.
    /// - Returns: the address and its prefix length, checked to lie in the pool.
    public func requestAddress(pool: String, subnet: IPv4Subnet, preferred: IPv4Address?, gateway: Bool)
        async throws(BerthError) -> IPv4Address
    {
        let options: [String: String] = gateway ? ["RequestAddressType": Self.gatewayRequest] : [:]
        let reply = try await call(
            "RequestAddress",
            .object([
                ("PoolID", .string(pool)), ("Address", .string(preferred?.description ?? "")),
                ("Options", .map(options)),
            ]))
        let text = reply["Address"]?.stringValue ?? ""
        guard let address = IPv4Address(text.split(separator: "/").first ?? ""), subnet.contains(address) else {
            if let address = IPv4Address(text.split(separator: "/").first ?? "") {
                try? await releaseAddress(pool: pool, address)
            }
            throw .internalError(
                "plugin \"\(name)\": IpamDriver.RequestAddress gave \"\(text)\", not an address in \(subnet)")
        }
        return address
    }

    public func releaseAddress(pool: String, _ address: IPv4Address) async throws(BerthError) {
        _ = try await call(
            "ReleaseAddress", .object([("PoolID", .string(pool)), ("Address", .string(address.description))]))
    }
}
