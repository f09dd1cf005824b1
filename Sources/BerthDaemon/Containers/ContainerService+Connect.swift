import BerthCore
import BerthNetworkBridge
import BerthOS
import BerthRuntime
import CBerthLinux
import Glibc

extension ContainerService {
    /// The endpoint ID of a container on a connected network (distinct per network, so are its veth names).
    static func connectionEndpointID(_ containerID: String, _ networkID: String) -> String {
        String(containerID.prefix(6)) + String(networkID.prefix(5))
    }

    /// Whether `record` is on `network`, by the network it was created on or by `network connect`.
    func isAttached(_ record: ContainerRecord, to network: NetworkRecord) -> Bool {
        let mode = record.networkMode
        if !record.primaryDetached, mode == network.id || mode == network.name { return true }
        return record.connections.contains { $0.networkID == network.id }
    }

    /// `POST /networks/{id}/connect`: a container joins another network; a running one gets its interface at
    /// once (the next free ethN), a stopped one at its next start.
    func connect(network ref: String, container cref: String, config: JSONValue?) async throws(BerthError) {
        if ref == "host" || ref == "none" {
            throw .invalidArgument("container cannot be disconnected from host network or connected to host network")
        }
        guard let driver = bridgeDriver else { throw .notFound("network \(ref) not found") }
        let network = ref == "bridge" ? try await bridgeNetwork() : findNetwork(ref)
        guard let network else { throw .notFound("network \(ref) not found") }
        var record = try lookup(cref)
        let mode = record.networkMode
        if mode == "host" || mode == "none" || mode.hasPrefix("container:") {
            throw .invalidArgument(
                "container sharing network namespace with another container or host cannot be connected to any other network"
            )
        }
        if isAttached(record, to: network) {
            throw .forbidden("endpoint with name \(record.name) already exists in network \(network.name)")
        }
        try await ensureUp(network)
        var c = ContainerRecord.Connection(networkID: network.id)
        c.aliases = config?["Aliases"]?.stringArray ?? []
        if let ip = config?["IPAMConfig"]?["IPv4Address"]?.stringValue, !ip.isEmpty {
            guard let a = IPv4Address(ip), network.options["subnet"].flatMap({ IPv4Subnet($0) })?.contains(a) == true
            else { throw .invalidArgument("no configured subnet contains IP address \(ip)") }
            c.requestedIP = ip
        }
        if record.isRunning, record.pid > 0 {
            // The next free ethN; eth0 (and the default route) when the first network was disconnected.
            let used = Set(record.connections.map(\.ifname) + (record.endpoint == nil ? [] : ["eth0"]))
            c.ifname = (0...64).map { "eth\($0)" }.first { !used.contains($0) } ?? "eth65"
            let routed = c.ifname == "eth0" && !network.isInternal
            let endpoint: EndpointInfo
            if isPluginNetwork(network) {
                endpoint = try await connectLive(record, network, &c, pid: record.pid, route: routed)
            } else {
                endpoint = try await driver.createEndpoint(
                    network: network, endpointID: Self.connectionEndpointID(record.id, network.id),
                    requested: IPv4Address(c.requestedIP))
                do {
                    try wireLive(endpoint, ifname: c.ifname, pid: record.pid, route: routed)
                } catch {
                    driver.deleteEndpoint(network: network, endpointID: record.id, address: endpoint.ipAddress)
                    throw error
                }
            }
            c.endpoint = endpoint
            registerNames(record, on: network, endpoint: endpoint, aliases: c.aliases)
        }
        record.connections.append(c)
        try save(record)
        events.publish(
            type: "network", action: "connect", id: network.id,
            attributes: ["container": record.id, "name": network.name])
    }

    /// `POST /networks/{id}/disconnect`.
    func disconnect(network ref: String, container cref: String, force: Bool) async throws(BerthError) {
        let network = ref == "bridge" ? networkRecords.values.first { $0.name == "bridge" } : findNetwork(ref)
        guard let network else { throw .notFound("network \(ref) not found") }
        var record = try lookup(cref)
        guard let index = record.connections.firstIndex(where: { $0.networkID == network.id }) else {
            guard isAttached(record, to: network) else {
                throw .forbidden("container \(record.name) is not connected to network \(network.name)")
            }
            try await disconnectPrimary(&record, from: network)
            return
        }
        let c = record.connections.remove(at: index)
        if let endpoint = c.endpoint, isPluginNetwork(network) {
            await releasePluginEndpoint(
                network, endpointID: Self.pluginEndpointID(record.id, network.id), address: endpoint.ipAddress)
        } else if let endpoint = c.endpoint {
            // The host end takes the container end with it.
            _ = berth_nl_link_del("veth" + Self.connectionEndpointID(record.id, network.id).prefix(11))
            bridgeDriver?.deleteEndpoint(
                network: network, endpointID: Self.connectionEndpointID(record.id, network.id),
                address: endpoint.ipAddress)
            dns.remove(network: network.id, containerID: record.id)
        }
        try save(record)
        events.publish(
            type: "network", action: "disconnect", id: network.id,
            attributes: ["container": record.id, "name": network.name])
    }

    /// Disconnects a container from the network it was created on: a running one loses eth0 (its host end
    /// goes, taking the container end with it), its address, names and published ports, and its default route
    /// moves to the first connected network, as Docker moves the gateway; it starts without that network from
    /// now on.
    func disconnectPrimary(_ record: inout ContainerRecord, from network: NetworkRecord) async throws(BerthError) {
        if record.isRunning, record.endpoint != nil {
            _ = berth_nl_link_del("veth" + record.id.prefix(11))
            await detachNetwork(&record)
            if let c = record.connections.first(where: { $0.endpoint != nil }), let e = c.endpoint,
                !e.gateway.isEmpty, networkRecords[c.networkID]?.isInternal == false
            {
                try? configureInside(e, ifname: c.ifname, pid: record.pid, route: true)
            }
        }
        record.endpoint = nil
        record.primaryDetached = true
        try save(record)
        records[record.id] = record
        events.publish(
            type: "network", action: "disconnect", id: network.id,
            attributes: ["container": record.id, "name": network.name])
    }

    /// A veth into a running container, configured inside by `berth-shim netconf` (which enters the
    /// namespace: the daemon itself never switches namespaces).
    func wireLive(_ endpoint: EndpointInfo, ifname: String, pid: Int32, route: Bool = false) throws(BerthError) {
        guard let i = endpoint.interface else { return }
        var c = berth_veth_config()
        c.pid = pid
        c.mtu = Int32(i.mtu)
        var message = [CChar](repeating: 0, count: 256)
        let rc = i.bridge.withCString { bridge in
            i.hostName.withCString { host in
                ifname.withCString { name in
                    c.bridge = bridge
                    c.host_name = host
                    c.container_name = name
                    return berth_net_attach_veth(&c, &message, message.count)
                }
            }
        }
        if rc < 0 { throw BerthError(.system(-rc), "network connect: \(String(nulTerminated: message))") }
        do {
            try configureInside(endpoint, ifname: ifname, pid: pid, route: route)
        } catch {
            _ = berth_nl_link_del(i.hostName)
            throw error
        }
    }

    /// `berth-shim netconf`: address (and with `route`, the default route through the endpoint's gateway) of
    /// `ifname` inside the running container `pid`.
    func configureInside(_ endpoint: EndpointInfo, ifname: String, pid: Int32, route: Bool) throws(BerthError) {
        var args = [
            configuration.shimPath, "netconf", String(pid), ifname, endpoint.ipAddress, String(endpoint.prefixLength),
        ]
        if route, !endpoint.gateway.isEmpty { args.append(endpoint.gateway) }
        let helper = ShimLauncher.spawn(path: configuration.shimPath, args: args, env: [], fds: [-1, -1, -1])
        var status: Int32 = 0
        guard helper > 0, waitpid(helper, &status, 0) == helper, status == 0 else {
            throw BerthError(.internalError, "network: could not configure \(ifname) in the container")
        }
    }

    /// A plugin network's interface into a running container: the plugin makes it on the host (its namespace
    /// is `/proc/PID/ns/net`), berthd moves it in and `berth-shim netconf` configures it.
    func connectLive(
        _ record: ContainerRecord, _ network: NetworkRecord, _ c: inout ContainerRecord.Connection, pid: Int32,
        route: Bool
    ) async throws(BerthError) -> EndpointInfo {
        let endpointID = Self.pluginEndpointID(record.id, network.id)
        let index = Int(c.ifname.dropFirst(3)) ?? 1
        let endpoint = try await pluginEndpoint(
            network, endpointID: endpointID, requestedIP: c.requestedIP, mac: "", index: index,
            sandboxKey: "/proc/\(pid)/ns/net", offerInside: false)
        do throws(BerthError) {
            guard let i = endpoint.interface else { throw .internalError("network \(network.name): no interface") }
            c.ifname = i.containerName
            var message = [CChar](repeating: 0, count: 256)
            let rc = berth_net_move_link(
                i.hostName, "/proc/\(pid)/ns/net", i.containerName, nil, 0, &message, message.count)
            if rc < 0 { throw BerthError(.system(-rc), "network connect: \(String(nulTerminated: message))") }
            try configureInside(endpoint, ifname: i.containerName, pid: pid, route: route)
        } catch {
            await releasePluginEndpoint(network, endpointID: endpointID, address: endpoint.ipAddress)
            throw error
        }
        return endpoint
    }

    /// The container's names on a user network's resolver (not the default bridge's, as in Docker; plugin
    /// networks have none).
    func registerNames(_ record: ContainerRecord, on network: NetworkRecord, endpoint: EndpointInfo, aliases: [String])
    {
        guard network.name != "bridge", !isPluginNetwork(network), let address = IPv4Address(endpoint.ipAddress)
        else { return }
        dns.add(
            network: network.id, containerID: record.id,
            names: [record.name, record.shortID, record.config["Hostname"]?.stringValue ?? ""] + aliases,
            address: address)
    }

    /// At start: the connected networks' interfaces (after the first network's), no default route. On a
    /// failure the connections made so far are released.
    func attachConnections(_ record: inout ContainerRecord, spec: inout ShimSpec) async throws(BerthError) {
        do { try await attachEachConnection(&record, spec: &spec) } catch {
            await detachConnections(&record)
            throw error
        }
    }

    private func attachEachConnection(_ record: inout ContainerRecord, spec: inout ShimSpec) async throws(BerthError) {
        guard let driver = bridgeDriver else { return }
        for k in record.connections.indices {
            guard let network = networkRecords[record.connections[k].networkID] else { continue }
            // eth0 and the default route go to the first connected network when the container was
            // disconnected from the network it was created on.
            let first = spec.interfaces.isEmpty && record.primaryDetached
            let index = spec.interfaces.count + (spec.interfaces.isEmpty && !first ? 1 : 0)
            if isPluginNetwork(network) {
                // Inside the container's sandbox when it has one (its first network is a plugin's); else the
                // plugin's interface is moved into the namespace the shim makes.
                let sandbox = spec.joinNetworkNamespace
                var endpoint = try await pluginEndpoint(
                    network, endpointID: Self.pluginEndpointID(record.id, network.id),
                    requestedIP: record.connections[k].requestedIP, mac: "", index: index,
                    sandboxKey: sandbox ?? "", offerInside: sandbox != nil)
                if !first { endpoint.interface?.gateway = "" }
                if let i = endpoint.interface { spec.interfaces.append(i) }
                record.connections[k].ifname = endpoint.interface?.containerName ?? "eth\(index)"
                record.connections[k].endpoint = endpoint
                continue
            }
            try await ensureUp(network)
            let ifname = "eth\(index)"
            var endpoint = try await driver.createEndpoint(
                network: network, endpointID: Self.connectionEndpointID(record.id, network.id),
                requested: IPv4Address(record.connections[k].requestedIP))
            endpoint.interface?.containerName = ifname
            if !first { endpoint.interface?.gateway = "" }
            if let i = endpoint.interface { spec.interfaces.append(i) }
            record.connections[k].ifname = ifname
            record.connections[k].endpoint = endpoint
            registerNames(record, on: network, endpoint: endpoint, aliases: record.connections[k].aliases)
        }
    }

    /// At exit: the connected networks' addresses go back (and plugin networks' endpoints).
    func detachConnections(_ record: inout ContainerRecord) async {
        for k in record.connections.indices {
            guard let endpoint = record.connections[k].endpoint,
                let network = networkRecords[record.connections[k].networkID]
            else { continue }
            if isPluginNetwork(network) {
                record.connections[k].endpoint = nil
                await releasePluginEndpoint(
                    network, endpointID: Self.pluginEndpointID(record.id, network.id), address: endpoint.ipAddress)
                continue
            }
            bridgeDriver?.deleteEndpoint(
                network: network, endpointID: Self.connectionEndpointID(record.id, network.id),
                address: endpoint.ipAddress)
            dns.remove(network: network.id, containerID: record.id)
            record.connections[k].endpoint = nil
        }
    }
}
