import BerthCore
import BerthNetworkBridge
import BerthOS
import Glibc

extension ContainerService {
    var bridgeDriver: BridgeDriver? { networks["bridge"] as? BridgeDriver }
    var networksDir: String { "\(configuration.root)/networks" }

    /// Loads the bridge networks' records (`<root>/networks/<id>.json`).
    func loadNetworks() {
        for name in (try? FileSystem.list(networksDir)) ?? [] where name.hasSuffix(".json") {
            guard let bytes = try? FileSystem.readFile("\(networksDir)/\(name)"),
                let json = try? JSONValue.parse(bytes: bytes), let id = json["id"]?.stringValue,
                let netName = json["name"]?.stringValue
            else { continue }
            networkRecords[id] = NetworkRecord(
                id: id, name: netName, driver: json["driver"]?.stringValue ?? "bridge",
                created: json["created"]?.stringValue ?? "", labels: json["labels"]?.stringMap ?? [:],
                options: json["options"]?.stringMap ?? [:], isInternal: json["internal"]?.boolValue ?? false)
        }
    }

    func saveNetwork(_ r: NetworkRecord) throws(BerthError) {
        try FileSystem.createDirectory(networksDir, mode: 0o700)
        let json: JSONValue = .object([
            ("id", .string(r.id)), ("name", .string(r.name)), ("driver", .string(r.driver)),
            ("created", .string(r.created)), ("labels", .map(r.labels)), ("options", .map(r.options)),
            ("internal", .bool(r.isInternal)),
        ])
        try FileSystem.writeFileAtomic("\(networksDir)/\(r.id).json", json.serialized, mode: 0o600)
    }

    /// A bridge network by ID, unique ID prefix or name.
    func findNetwork(_ ref: String) -> NetworkRecord? {
        if let r = networkRecords[ref] { return r }
        if let r = networkRecords.values.first(where: { $0.name == ref }) { return r }
        let matches = networkRecords.values.filter { $0.id.hasPrefix(ref) }
        return !ref.isEmpty && matches.count == 1 ? matches[0] : nil
    }

    /// Subnets a new network must not overlap: host routes and addresses, and every bridge network.
    func usedSubnets() -> [IPv4Subnet] {
        HostNetwork.routes() + HostNetwork.addresses()
            + networkRecords.values.compactMap { $0.options["subnet"].flatMap { IPv4Subnet($0) } }
    }

    /// The default `bridge` network, made on first need with a free subnet and set up in the kernel.
    func bridgeNetwork() async throws(BerthError) -> NetworkRecord {
        guard bridgeDriver != nil else { throw .notFound("network bridge not found") }
        if let r = networkRecords.values.first(where: { $0.name == "bridge" }) {
            try await ensureUp(r)
            return r
        }
        return try await makeNetwork(
            name: "bridge", subnet: nil, gateway: nil, bridgeName: configuration.engine.network.bridgeName,
            isInternal: false, labels: [:])
    }

    /// Sets a network's bridge up once per daemon run (idempotent in the driver); a plugin's network is the
    /// plugin's to keep.
    func ensureUp(_ r: NetworkRecord) async throws(BerthError) {
        guard r.driver == "bridge", !networksUp.contains(r.id), let driver = bridgeDriver else { return }
        try await driver.createNetwork(r)
        networksUp.insert(r.id)
        await startResolver(r)
    }

    /// User networks get the resolver on their gateway (the default bridge does not, as in Docker).
    func startResolver(_ r: NetworkRecord) async {
        guard r.name != "bridge", let gateway = r.options["gateway"].flatMap({ IPv4Address($0) }) else { return }
        do { try await dns.start(network: r.id, address: gateway) } catch {
            logger.warning(
                "network resolver not started; containers resolve no names on it",
                metadata: ["network": "\(r.name)", LogKey.error: "\(error.message)"])
        }
    }

    /// Holds the host-wide lock under which a subnet is chosen and recorded (so two daemons never take the
    /// same block); close the descriptor to release it.
    static func lockSubnets() -> Int32 {
        let lock = open("/run/berth-ipam.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lock >= 0 { flock(lock, LOCK_EX) }
        return lock
    }

    /// The subnet (`requested` if nothing on the host overlaps it, else the first free block of the default
    /// pools) and its gateway (`gateway`, checked to be a host of it, or its first address).
    func chooseSubnet(_ requested: IPv4Subnet?, gateway: IPv4Address?) throws(BerthError) -> (
        IPv4Subnet, IPv4Address
    ) {
        let subnet = try chooseSubnet(requested)
        let gw = gateway ?? subnet.host(1) ?? subnet.network
        guard subnet.contains(gw), gw != subnet.network, gw != subnet.last else {
            throw .invalidArgument("no matching subnet for gateway \(gw)")
        }
        return (subnet, gw)
    }

    private func chooseSubnet(_ requested: IPv4Subnet?) throws(BerthError) -> IPv4Subnet {
        let used = usedSubnets()
        if let requested {
            if let other = used.first(where: { $0.overlaps(requested) }) {
                throw .forbidden("invalid pool request: Pool overlaps with other one on this address space (\(other))")
            }
            return requested
        }
        guard let free = SubnetAllocator(pools: configuration.engine.network.pools).allocate(avoiding: used) else {
            throw .forbidden(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
            )
        }
        return free
    }

    /// Makes a bridge network: checks or chooses its subnet (one choice at a time on this host, so two
    /// daemons never take the same block), creates the bridge, records it.
    func makeNetwork(
        name: String, subnet requested: IPv4Subnet?, gateway: IPv4Address?, bridgeName: String?, isInternal: Bool,
        labels: [String: String]
    ) async throws(BerthError) -> NetworkRecord {
        guard let driver = bridgeDriver else { throw .notFound("network driver bridge not found") }
        let lock = Self.lockSubnets()
        defer { if lock >= 0 { close(lock) } }
        let (subnet, gw) = try chooseSubnet(requested, gateway: gateway)
        let id = Identifier.random()
        let bridge = bridgeName ?? "br-" + id.prefix(12)
        if networkRecords.values.contains(where: { $0.options["bridge"] == bridge }) || HostNetwork.linkExists(bridge),
            name != "bridge"
        {
            throw .conflict("bridge interface \(bridge) already exists")
        }
        let record = NetworkRecord(
            id: id, name: name, driver: "bridge", created: Clock.rfc3339Nano(Clock.nowNanos()), labels: labels,
            options: ["bridge": bridge, "subnet": subnet.description, "gateway": gw.description, "mtu": "1500"],
            isInternal: isInternal)
        try await driver.createNetwork(record)
        do { try saveNetwork(record) } catch {
            try? await driver.deleteNetwork(record)
            throw error
        }
        networkRecords[id] = record
        applyFirewallQuietly()
        networksUp.insert(id)
        await startResolver(record)
        return record
    }

    /// The bridge network a container's NetworkMode names, nil for none, host and container modes.
    func bridgeNetwork(for mode: String) async throws(BerthError) -> NetworkRecord? {
        if mode == "bridge" { return try await bridgeNetwork() }
        guard let r = findNetwork(mode), r.driver == "bridge" else { return nil }
        try await ensureUp(r)
        return r
    }

    /// Reserves the container's address on its network and describes the interface the shim wires in.
    func attachNetwork(_ record: inout ContainerRecord, spec: inout ShimSpec) async throws(BerthError) {
        if record.primaryDetached {
            // Only connected networks: the first one's resolver answers, on a user network.
            let first = record.connections.first.flatMap { networkRecords[$0.networkID] }
            try writeEtcFiles(record, nameserver: first.flatMap { $0.name == "bridge" ? nil : $0.options["gateway"] })
            return
        }
        if let network = pluginNetwork(for: record.networkMode) {
            return try await attachPluginNetwork(&record, spec: &spec, network: network)
        }
        guard let driver = bridgeDriver, let network = try await bridgeNetwork(for: record.networkMode) else {
            try writeEtcFiles(record)
            return
        }
        let links = try linkHosts(record)
        var endpoint = try await driver.createEndpoint(
            network: network, endpointID: record.id, requested: IPv4Address(record.requestedIP))
        if !record.requestedMAC.isEmpty {
            endpoint.macAddress = record.requestedMAC
            endpoint.interface?.macAddress = record.requestedMAC
        }
        if let interface = endpoint.interface { spec.interfaces = [interface] }
        record.endpoint = endpoint
        let user = network.name != "bridge"
        registerNames(record, on: network, endpoint: endpoint, aliases: record.aliases)
        do {
            try writeEtcFiles(
                record, address: endpoint.ipAddress, nameserver: user ? network.options["gateway"] : nil, links: links)
            if let address = IPv4Address(endpoint.ipAddress) {
                try publishPorts(&record, address: address)
                if !record.ports.isEmpty {
                    records[record.id]?.ports = record.ports
                    try applyFirewall()
                }
            }
        } catch {
            releasePorts(&record)
            records[record.id]?.ports = []
            dns.remove(network: network.id, containerID: record.id)
            driver.deleteEndpoint(network: network, endpointID: record.id, address: endpoint.ipAddress)
            record.endpoint = nil
            throw error
        }
    }

    /// Releases the container's address (the veth pair goes with its network namespace).
    func detachNetwork(_ record: inout ContainerRecord) async {
        guard let endpoint = record.endpoint else { return }
        if let network = pluginNetwork(for: record.networkMode) {
            return await detachPluginNetwork(&record, network: network)
        }
        record.endpoint = nil
        if !record.ports.isEmpty {
            releasePorts(&record)
            records[record.id]?.ports = []
            applyFirewallQuietly()
        }
        let mode = record.networkMode
        let network = mode == "bridge" ? networkRecords.values.first { $0.name == "bridge" } : findNetwork(mode)
        if let driver = bridgeDriver, let network {
            driver.deleteEndpoint(network: network, endpointID: record.id, address: endpoint.ipAddress)
            dns.remove(network: network.id, containerID: record.id)
        }
    }

    /// After a restart: sets up the networks of running containers again and takes back their addresses.
    func restoreNetworks() async {
        restorePluginAddresses()
        guard let driver = bridgeDriver else { return }
        defer { applyFirewallQuietly() }
        for r in records.values where r.isRunning {
            // Networks joined with `network connect`: their addresses and names come back too.
            for c in r.connections {
                guard let e = c.endpoint, let network = networkRecords[c.networkID] else { continue }
                try? await ensureUp(network)
                driver.restoreEndpoint(network: network, address: e.ipAddress)
                registerNames(r, on: network, endpoint: e, aliases: c.aliases)
            }
            // Hold the published ports again (the DNAT rules come back with the table).
            var held: [PortReservation] = []
            for p in r.ports {
                if let h = try? PortReservation(proto: p.proto, hostIP: p.hostIP, port: p.hostPort) { held.append(h) }
            }
            if !held.isEmpty { portReservations[r.id] = held }
            guard let endpoint = r.endpoint, let network = try? await bridgeNetwork(for: r.networkMode) else {
                continue
            }
            driver.restoreEndpoint(network: network, address: endpoint.ipAddress)
            registerNames(r, on: network, endpoint: endpoint, aliases: r.aliases)
        }
    }

    // MARK: - The networks API

    /// Containers with an endpoint on `network` (running ones).
    func endpoints(on network: NetworkRecord) -> [ContainerRecord] {
        records.values.filter { r in
            if r.connections.contains(where: { $0.networkID == network.id && $0.endpoint != nil }) { return true }
            guard r.endpoint != nil else { return false }
            let mode = r.networkMode
            return mode == network.id || mode == network.name || (network.name == "bridge" && mode == "default")
        }
    }

    /// A container's endpoint on `network` (created on it, or connected).
    func endpoint(of r: ContainerRecord, on network: NetworkRecord) -> EndpointInfo? {
        if let c = r.connections.first(where: { $0.networkID == network.id }) { return c.endpoint }
        return r.endpoint
    }

    static let builtinNetworks = ["bridge", "host", "none"]

    /// `GET /networks/{id}` and the rows of `GET /networks`.
    func networkJSON(_ r: NetworkRecord, verbose: Bool) -> JSONValue {
        var containers: [(String, JSONValue)] = []
        if verbose {
            for c in endpoints(on: r) {
                guard let e = endpoint(of: c, on: r) else { continue }
                containers.append(
                    (
                        c.id,
                        .object([
                            ("Name", .string(c.name)), ("EndpointID", .string(c.id)),
                            ("MacAddress", .string(e.macAddress)),
                            ("IPv4Address", .string("\(e.ipAddress)/\(e.prefixLength)")), ("IPv6Address", .string("")),
                        ])
                    ))
            }
        }
        var options: [(String, JSONValue)] = []
        if let bridge = r.options["bridge"] { options.append(("com.docker.network.bridge.name", .string(bridge))) }
        var ipamOptions: [(String, JSONValue)] = []
        for (k, v) in r.options.sorted(by: { $0.key < $1.key }) {
            if k.hasPrefix("opt.") { options.append((String(k.dropFirst(4)), .string(v))) }
            if k.hasPrefix("ipamopt.") { ipamOptions.append((String(k.dropFirst(8)), .string(v))) }
        }
        let ipam: JSONValue =
            r.options["subnet"].map { subnet in
                .array([.object([("Subnet", .string(subnet)), ("Gateway", .string(r.options["gateway"] ?? ""))])])
            } ?? .array([])
        return .object([
            ("Name", .string(r.name)), ("Id", .string(r.id)), ("Created", .string(r.created)),
            ("Scope", .string("local")), ("Driver", .string(r.driver)), ("EnableIPv4", .bool(true)),
            ("EnableIPv6", .bool(false)),
            (
                "IPAM",
                .object([
                    ("Driver", .string(r.options["ipam.driver"] ?? "default")),
                    ("Options", ipamOptions.isEmpty ? .null : .object(ipamOptions)), ("Config", ipam),
                ])
            ),
            ("Internal", .bool(r.isInternal)), ("Attachable", .bool(false)), ("Ingress", .bool(false)),
            ("ConfigFrom", .object([("Network", .string(""))])), ("ConfigOnly", .bool(false)),
            ("Containers", .object(containers)), ("Options", .object(options)), ("Labels", .map(r.labels)),
        ])
    }

    /// host and none, which have no record (and `bridge` before its first use).
    func builtinRecord(_ name: String) -> NetworkRecord? {
        guard networks[name] != nil, name != "bridge" || !networkRecords.values.contains(where: { $0.name == name })
        else { return nil }
        return NetworkRecord(id: name, name: name, driver: name == "bridge" ? "bridge" : name, created: startedText)
    }

    func listNetworks(filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["name", "id", "driver", "label", "type", "scope", "dangling"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        if bridgeDriver != nil { _ = try? await bridgeNetwork() }
        var all = Array(networkRecords.values)
        for name in ["host", "none"] { if let r = builtinRecord(name) { all.append(r) } }
        let rows = all.filter { r in
            if let names = filters["name"], !names.contains(where: { r.name.contains($0) }) { return false }
            if let ids = filters["id"], !ids.contains(where: { r.id.hasPrefix($0) }) { return false }
            if let drivers = filters["driver"], !drivers.contains(r.driver) { return false }
            if let types = filters["type"] {
                let builtin = Self.builtinNetworks.contains(r.name)
                if !types.contains(builtin ? "builtin" : "custom") { return false }
            }
            for label in filters["label"] ?? [] {
                let kv = label.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 ? r.labels[kv[0]] != kv[1] : r.labels[kv[0]] == nil { return false }
            }
            if let dangling = filters["dangling"], dangling.contains("true") || dangling.contains("1") {
                if Self.builtinNetworks.contains(r.name) || !endpoints(on: r).isEmpty { return false }
            }
            return true
        }
        return .array(rows.sorted { $0.name < $1.name }.map { networkJSON($0, verbose: false) })
    }

    func inspectNetwork(_ ref: String) async throws(BerthError) -> JSONValue {
        if ref == "bridge" { _ = try? await bridgeNetwork() }
        if let r = findNetwork(ref) ?? builtinRecord(ref) { return networkJSON(r, verbose: true) }
        throw .notFound("network \(ref) not found")
    }

    /// `POST /networks/create`.
    func createNetwork(_ body: JSONValue) async throws(BerthError) -> (String, String) {
        guard let name = body["Name"]?.stringValue, !name.isEmpty else {
            throw .invalidArgument("network name must not be empty")
        }
        guard Identifier.isValidName(name) || name.count == 1 && name.allSatisfy({ $0.isLetter || $0.isNumber })
        else { throw .invalidArgument("invalid network name \"\(name)\"") }
        if Self.builtinNetworks.contains(name) {
            throw .forbidden("\(name) is a pre-defined network and cannot be created")
        }
        if findNetwork(name)?.name == name { throw .conflict("network with name \(name) already exists") }
        let driver = body["Driver"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "bridge"
        if driver != "bridge", networks[driver] != nil {
            throw .forbidden("only one instance of \"\(driver)\" network is allowed")
        }
        let ipamDriver = body["IPAM"]?["Driver"]?.stringValue ?? ""
        if driver == "bridge", !ipamDriver.isEmpty, ipamDriver != "default" {
            throw .invalidArgument(
                "the bridge driver takes its addresses from Berth's own IPAM; --ipam-driver \(ipamDriver) works with network driver plugins"
            )
        }
        let configs = body["IPAM"]?["Config"]?.arrayValue ?? []
        if configs.count > 1 { throw .invalidArgument("only one IPv4 subnet per network is supported") }
        var subnet: IPv4Subnet?
        var gateway: IPv4Address?
        if let c = configs.first {
            if let s = c["Subnet"]?.stringValue, !s.isEmpty {
                guard let parsed = IPv4Subnet(s, strict: true), parsed.prefixLength <= 30 else {
                    throw .invalidArgument("invalid subnet \(s): expected an IPv4 network such as 10.1.0.0/24")
                }
                subnet = parsed
            }
            if let g = c["Gateway"]?.stringValue, !g.isEmpty {
                guard let parsed = IPv4Address(g) else { throw .invalidArgument("invalid gateway address \(g)") }
                guard subnet != nil else { throw .invalidArgument("a gateway needs a subnet (--subnet)") }
                gateway = parsed
            }
        }
        if driver != "bridge" {
            let record = try await makePluginNetwork(
                name: name, driver: driver, ipamDriver: ipamDriver, subnet: subnet, gateway: gateway, body: body)
            events.publish(
                type: "network", action: "create", id: record.id, attributes: ["name": name, "type": driver])
            return (record.id, "")
        }
        let bridgeName = body["Options"]?["com.docker.network.bridge.name"]?.stringValue
        let record = try await makeNetwork(
            name: name, subnet: subnet, gateway: gateway, bridgeName: bridgeName,
            isInternal: body["Internal"]?.boolValue ?? false, labels: body["Labels"]?.stringMap ?? [:])
        events.publish(type: "network", action: "create", id: record.id, attributes: ["name": name, "type": "bridge"])
        return (record.id, "")
    }

    /// `DELETE /networks/{id}`: refused for the built-in networks and while containers are attached.
    func removeNetwork(_ ref: String) async throws(BerthError) {
        if Self.builtinNetworks.contains(ref) || builtinRecord(ref) != nil
            || findNetwork(ref).map({ Self.builtinNetworks.contains($0.name) }) == true
        {
            throw .forbidden("\(findNetwork(ref)?.name ?? ref) is a pre-defined network and cannot be removed")
        }
        guard let r = findNetwork(ref) else { throw .notFound("network \(ref) not found") }
        let attached = endpoints(on: r)
        if !attached.isEmpty {
            throw .forbidden(
                "error while removing network: network \(r.name) id \(r.id) has active endpoints (\(attached.map(\.name).sorted().joined(separator: ", ")))"
            )
        }
        if isPluginNetwork(r) {
            try await deletePluginNetwork(r)
        } else {
            await dns.stop(network: r.id)
            try await bridgeDriver?.deleteNetwork(r)
        }
        unlink("\(networksDir)/\(r.id).json")
        networkRecords[r.id] = nil
        applyFirewallQuietly()
        networksUp.remove(r.id)
        events.publish(type: "network", action: "destroy", id: r.id, attributes: ["name": r.name, "type": r.driver])
    }

    /// `POST /networks/prune`: user networks no container refers to.
    func pruneNetworks() async -> [String] {
        var deleted: [String] = []
        for r in networkRecords.values.sorted(by: { $0.name < $1.name })
        where !Self.builtinNetworks.contains(r.name)
            && !records.values.contains(where: { isAttached($0, to: r) })
        {
            if (try? await removeNetwork(r.id)) != nil { deleted.append(r.name) }
        }
        return deleted
    }
}
