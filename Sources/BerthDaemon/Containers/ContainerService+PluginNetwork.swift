import BerthArchive
import BerthCore
import BerthOS
import BerthPlugins
import CBerthLinux
import Glibc

/// Networks of network driver plugins (`network create -d PLUGIN`, Docker's remote driver API), with
/// addresses from Berth's own IPAM or an IPAM plugin (`--ipam-driver PLUGIN`).
///
/// A record of such a network keeps in its options: `subnet` and `gateway`; with an IPAM plugin
/// `ipam.driver`, `ipam.pool` (the plugin's pool ID) and `ipam.space`; the user's `-o` options as `opt.KEY`
/// and `--ipam-opt` options as `ipamopt.KEY`.
///
/// A container on it: the daemon takes an address, makes the container's network namespace (bind-mounted at
/// `<exec-root>/netns/<id>`, the `SandboxKey`), the plugin's `CreateEndpoint` and `Join` make an interface
/// (`SrcName`) on the host, which the shim moves into the container as `DstPrefix`0 (or, offered by Berth,
/// inside the namespace, where it is only renamed), and the container's first process configures it (address,
/// the plugin's static routes, the default route through the plugin's gateway). At exit: `Leave`,
/// `DeleteEndpoint`, the namespace's mount, and the address goes back.
extension ContainerService {
    var plugins: PluginRegistry? { volumes.plugins }

    func isPluginNetwork(_ r: NetworkRecord) -> Bool { !Self.builtinNetworks.contains(r.driver) }

    /// The plugin network a container's NetworkMode names.
    func pluginNetwork(for mode: String) -> NetworkRecord? {
        guard let r = findNetwork(mode), isPluginNetwork(r) else { return nil }
        return r
    }

    func ipamPlugin(_ r: NetworkRecord) -> (PluginIpamDriver, String)? {
        guard let name = r.options["ipam.driver"], let pool = r.options["ipam.pool"], let plugins else { return nil }
        return (PluginIpamDriver(name: name, registry: plugins), pool)
    }

    /// `network create -d PLUGIN`: the subnet from Berth's IPAM (or the IPAM plugin's pool), then the plugin's
    /// `CreateNetwork`. On any failure the pool and the gateway's address go back and nothing is recorded.
    func makePluginNetwork(
        name: String, driver: String, ipamDriver: String, subnet requested: IPv4Subnet?,
        gateway requestedGateway: IPv4Address?,
        body: JSONValue
    ) async throws(BerthError) -> NetworkRecord {
        guard let plugins else { throw .notFound("plugin \"\(driver)\" not found") }
        let plugin = PluginNetworkDriver(name: driver, registry: plugins)
        do { try await plugin.activate() } catch  where error.code == .notFound {
            throw .notFound("plugin \"\(driver)\" not found")
        }
        let userOptions = body["Options"]?.stringMap ?? [:]
        let ipamOptions = body["IPAM"]?["Options"]?.stringMap ?? [:]
        var options: [String: String] = [:]
        for (k, v) in userOptions { options["opt." + k] = v }
        for (k, v) in ipamOptions { options["ipamopt." + k] = v }
        let id = Identifier.random()
        let subnet: IPv4Subnet
        let gateway: IPv4Address
        var space = "LocalDefault"
        var release: (@Sendable () async -> Void)?
        let lock = Self.lockSubnets()
        defer { if lock >= 0 { close(lock) } }
        if ipamDriver.isEmpty || ipamDriver == "default" {
            (subnet, gateway) = try chooseSubnet(requested, gateway: requestedGateway)
        } else {
            let ipam = PluginIpamDriver(name: ipamDriver, registry: plugins)
            do { try await ipam.activate() } catch  where error.code == .notFound {
                throw .notFound("plugin \"\(ipamDriver)\" not found")
            }
            space = try await ipam.defaultAddressSpace()
            let pool = try await ipam.requestPool(space: space, requested: requested, options: ipamOptions)
            do throws(BerthError) {
                if let requested, pool.pool != requested {
                    throw .internalError(
                        "plugin \"\(ipamDriver)\": IpamDriver.RequestPool gave \(pool.pool) for the requested \(requested)"
                    )
                }
                if let g = pool.gateway, requestedGateway == nil {
                    gateway = g
                } else {
                    gateway = try await ipam.requestAddress(
                        pool: pool.id, subnet: pool.pool, preferred: requestedGateway, gateway: true)
                }
            } catch {
                try? await ipam.releasePool(pool.id)
                throw error
            }
            subnet = pool.pool
            options["ipam.driver"] = ipamDriver
            options["ipam.pool"] = pool.id
            options["ipam.space"] = space
            let poolID = pool.id
            release = {
                try? await ipam.releaseAddress(pool: poolID, gateway)
                try? await ipam.releasePool(poolID)
            }
        }
        options["subnet"] = subnet.description
        options["gateway"] = gateway.description
        let record = NetworkRecord(
            id: id, name: name, driver: driver, created: Clock.rfc3339Nano(Clock.nowNanos()),
            labels: body["Labels"]?.stringMap ?? [:], options: options, isInternal: body["Internal"]?.boolValue ?? false
        )
        do {
            try await plugin.createNetwork(
                id: id, options: userOptions, addressSpace: space, pool: subnet, gateway: gateway)
        } catch {
            await release?()
            throw error
        }
        do { try saveNetwork(record) } catch {
            try? await plugin.deleteNetwork(id: id)
            await release?()
            throw error
        }
        networkRecords[id] = record
        return record
    }

    /// `network rm` of a plugin network: the plugin's `DeleteNetwork` (its failure keeps the network), then the
    /// IPAM plugin's gateway address and pool.
    func deletePluginNetwork(_ r: NetworkRecord) async throws(BerthError) {
        guard let plugins else { throw .notFound("plugin \"\(r.driver)\" not found") }
        try await PluginNetworkDriver(name: r.driver, registry: plugins).deleteNetwork(id: r.id)
        pluginAddresses[r.id] = nil
        if let (ipam, pool) = ipamPlugin(r) {
            do {
                if let g = r.options["gateway"].flatMap({ IPv4Address($0) }) {
                    try await ipam.releaseAddress(pool: pool, g)
                }
                try await ipam.releasePool(pool)
            } catch {
                logger.warning(
                    "IPAM plugin did not release the network's pool",
                    metadata: ["network": "\(r.name)", LogKey.error: "\(error.message)"])
            }
        }
    }

    /// A container's address on plugin network `r`: `requested` or the next free one.
    func takePluginAddress(_ r: NetworkRecord, subnet: IPv4Subnet, requested: IPv4Address?) async throws(BerthError)
        -> IPv4Address
    {
        if let (ipam, pool) = ipamPlugin(r) {
            return try await ipam.requestAddress(pool: pool, subnet: subnet, preferred: requested, gateway: false)
        }
        var addresses = pluginAddresses(r, subnet: subnet)
        let address: IPv4Address
        if let requested {
            try addresses.reserve(requested)
            address = requested
        } else {
            address = try addresses.allocate()
        }
        pluginAddresses[r.id] = addresses
        return address
    }

    /// The addresses of plugin network `r` with Berth's IPAM, as taken so far (the gateway's from the start).
    func pluginAddresses(_ r: NetworkRecord, subnet: IPv4Subnet) -> AddressAllocator {
        pluginAddresses[r.id]
            ?? AddressAllocator(subnet: subnet, gateway: r.options["gateway"].flatMap { IPv4Address($0) })
    }

    func releasePluginAddress(_ r: NetworkRecord, _ address: IPv4Address) async {
        if let (ipam, pool) = ipamPlugin(r) {
            do { try await ipam.releaseAddress(pool: pool, address) } catch {
                logger.warning(
                    "IPAM plugin did not release an address",
                    metadata: ["network": "\(r.name)", "address": "\(address)", LogKey.error: "\(error.message)"])
            }
            return
        }
        pluginAddresses[r.id]?.release(address)
    }

    /// The endpoint ID of a container on a plugin network it was connected to (`network connect`): 64 hex
    /// digits like Docker's, the same at every start.
    static func pluginEndpointID(_ containerID: String, _ networkID: String) -> String {
        let hash = FastSHA256()
        hash.update(Array("\(containerID)/\(networkID)".utf8))
        return hash.finalizeHex()
    }

    /// An endpoint of plugin network `network`: its address (`requestedIP` or the next free one), the plugin's
    /// `CreateEndpoint` and `Join`, and the interface to bring in, named the plugin's `DstPrefix` followed by
    /// `index` (eth0, eth1, …). On any failure the plugin's endpoint and the address go back.
    func pluginEndpoint(
        _ network: NetworkRecord, endpointID: String, requestedIP: String, mac: String, index: Int,
        sandboxKey: String, offerInside: Bool
    ) async throws(BerthError) -> EndpointInfo {
        guard let plugins, let subnet = network.options["subnet"].flatMap({ IPv4Subnet($0) }) else {
            throw .internalError("network \(network.name) has no subnet")
        }
        let plugin = PluginNetworkDriver(name: network.driver, registry: plugins)
        let address = try await takePluginAddress(network, subnet: subnet, requested: IPv4Address(requestedIP))
        do throws(BerthError) {
            let given = try await plugin.createEndpoint(
                network: network.id, endpoint: endpointID, address: "\(address)/\(subnet.prefixLength)",
                macAddress: mac)
            let joined: PluginNetworkDriver.Joined
            do {
                joined = try await plugin.join(
                    network: network.id, endpoint: endpointID, sandboxKey: sandboxKey, offerInside: offerInside)
            } catch {
                try? await plugin.deleteEndpoint(network: network.id, endpoint: endpointID)
                throw error
            }
            var endpoint = EndpointInfo()
            endpoint.ipAddress = address.description
            endpoint.prefixLength = subnet.prefixLength
            endpoint.gateway = network.isInternal ? "" : joined.gateway
            endpoint.macAddress = mac.isEmpty ? given : mac
            var interface = ShimSpec.Interface(
                bridge: "", hostName: joined.sourceName, peerName: "",
                containerName: joined.destinationPrefix + String(index), mtu: 0,
                address: endpoint.ipAddress, prefixLength: endpoint.prefixLength, gateway: endpoint.gateway,
                macAddress: endpoint.macAddress)
            interface.movesLink = true
            interface.routes = joined.routes
            endpoint.interface = interface
            return endpoint
        } catch {
            await releasePluginAddress(network, address)
            throw error
        }
    }

    /// `Leave`, `DeleteEndpoint`, and the address goes back. A plugin that fails is logged: teardown moves on.
    func releasePluginEndpoint(_ network: NetworkRecord, endpointID: String, address: String) async {
        guard let plugins else { return }
        let plugin = PluginNetworkDriver(name: network.driver, registry: plugins)
        await plugin.leave(network: network.id, endpoint: endpointID)
        do { try await plugin.deleteEndpoint(network: network.id, endpoint: endpointID) } catch {
            logger.warning(
                "network plugin did not delete an endpoint",
                metadata: ["network": "\(network.name)", "endpoint": "\(endpointID)", LogKey.error: "\(error.message)"])
        }
        if let a = IPv4Address(address) { await releasePluginAddress(network, a) }
    }

    /// At start, for a container on plugin network `network`: its namespace made first (the `SandboxKey`), then
    /// its endpoint (eth0, or the plugin's `DstPrefix`0) with the default route. On any failure nothing stays.
    func attachPluginNetwork(_ record: inout ContainerRecord, spec: inout ShimSpec, network: NetworkRecord)
        async throws(BerthError)
    {
        if !(try Self.requestedPorts(record)).isEmpty {
            throw .invalidArgument(
                "port publishing is not supported on plugin network \(network.name) (driver \(network.driver))")
        }
        let links = try linkHosts(record)
        let sandbox = sandboxKey(record.id)
        try makeSandbox(sandbox)
        let endpoint: EndpointInfo
        do {
            endpoint = try await pluginEndpoint(
                network, endpointID: record.id, requestedIP: record.requestedIP, mac: record.requestedMAC,
                index: 0, sandboxKey: sandbox, offerInside: true)
        } catch {
            _ = berth_netns_remove(sandbox)
            throw error
        }
        spec.interfaces = [endpoint.interface].compactMap { $0 }
        spec.joinNetworkNamespace = sandbox
        record.endpoint = endpoint
        do { try writeEtcFiles(record, address: endpoint.ipAddress, links: links) } catch {
            record.endpoint = nil
            spec.interfaces = []
            spec.joinNetworkNamespace = nil
            await releasePluginEndpoint(network, endpointID: record.id, address: endpoint.ipAddress)
            _ = berth_netns_remove(sandbox)
            throw error
        }
    }

    /// At exit (or a failed start): the endpoint goes, and the namespace's mount.
    func detachPluginNetwork(_ record: inout ContainerRecord, network: NetworkRecord) async {
        guard let endpoint = record.endpoint else { return }
        record.endpoint = nil
        await releasePluginEndpoint(network, endpointID: record.id, address: endpoint.ipAddress)
        _ = berth_netns_remove(sandboxKey(record.id))
    }

    /// Where a container's network namespace is bind-mounted while it runs on a plugin network.
    func sandboxKey(_ id: String) -> String { "\(configuration.execRoot)/netns/\(id)" }

    /// The container's network namespace, made before the container so a plugin gets its `SandboxKey`.
    func makeSandbox(_ path: String) throws(BerthError) {
        try FileSystem.createDirectory("\(configuration.execRoot)/netns", mode: 0o711)
        _ = berth_netns_remove(path)  // one left by a daemon that died mid-start
        var message = [CChar](repeating: 0, count: 256)
        let rc = berth_netns_create(path, &message, message.count)
        if rc < 0 { throw Syscall.error("network namespace: \(String(nulTerminated: message))", errno: -rc) }
    }

    /// After a restart: running containers on plugin networks keep their addresses (Berth's IPAM; an IPAM
    /// plugin keeps its own); the namespaces of containers that are not running go.
    func restorePluginAddresses() {
        let dir = "\(configuration.execRoot)/netns"
        for id in (try? FileSystem.list(dir)) ?? [] where records[id]?.isRunning != true {
            _ = berth_netns_remove("\(dir)/\(id)")
        }
        func hold(_ network: NetworkRecord?, _ address: String) {
            guard let network, isPluginNetwork(network), ipamPlugin(network) == nil,
                let subnet = network.options["subnet"].flatMap({ IPv4Subnet($0) }), let a = IPv4Address(address)
            else { return }
            var addresses = pluginAddresses(network, subnet: subnet)
            try? addresses.reserve(a)
            pluginAddresses[network.id] = addresses
        }
        for r in records.values where r.isRunning {
            if let e = r.endpoint { hold(pluginNetwork(for: r.networkMode), e.ipAddress) }
            for c in r.connections { if let e = c.endpoint { hold(networkRecords[c.networkID], e.ipAddress) } }
        }
    }
}
