import BerthCore
import BerthNetworkBridge
import BerthOS
import Glibc

extension ContainerService {
    /// The default bridge network's record: loaded from `<root>/networks/bridge.json`, or made on first need
    /// with a subnet that overlaps no host route, host address or other network, and its bridge set up.
    func bridgeNetwork() async throws(BerthError) -> NetworkRecord {
        guard let driver = networks["bridge"] as? BridgeDriver else {
            throw .notFound("network bridge not found")
        }
        if let ready = bridgeRecord { return ready }
        let path = "\(configuration.root)/networks/bridge.json"
        var record: NetworkRecord
        guard let bytes = try? FileSystem.readFile(path), let json = try? JSONValue.parse(bytes: bytes),
            let id = json["id"]?.stringValue
        else {
            // One choice at a time on this host, so two daemons never take the same block.
            let lock = open("/run/berth-ipam.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            if lock >= 0 { flock(lock, LOCK_EX) }
            defer { if lock >= 0 { close(lock) } }
            let used = HostNetwork.routes() + HostNetwork.addresses()
            guard let subnet = SubnetAllocator().allocate(avoiding: used) else {
                throw .invalidState("could not find a free subnet for the default bridge in the address pools")
            }
            record = NetworkRecord(
                id: Identifier.random(), name: "bridge", driver: "bridge", created: Clock.rfc3339Nano(Clock.nowNanos()),
                options: [
                    "bridge": configuration.engine.network.bridgeName, "subnet": subnet.description,
                    "gateway": (subnet.host(1) ?? subnet.network).description, "mtu": "1500",
                ])
            try await driver.createNetwork(record)
            try FileSystem.createDirectory("\(configuration.root)/networks", mode: 0o700)
            let json: JSONValue = .object([
                ("id", .string(record.id)), ("name", .string(record.name)), ("driver", .string(record.driver)),
                ("created", .string(record.created)), ("options", .map(record.options)),
            ])
            try FileSystem.writeFileAtomic(path, json.serialized, mode: 0o600)
            bridgeRecord = record
            return record
        }
        record = NetworkRecord(
            id: id, name: "bridge", driver: "bridge", created: json["created"]?.stringValue ?? "",
            options: json["options"]?.stringMap ?? [:])
        try await driver.createNetwork(record)
        bridgeRecord = record
        return record
    }

    /// Reserves the container's address on its network and describes the interface the shim wires in.
    func attachNetwork(_ record: inout ContainerRecord, spec: inout ShimSpec) async throws(BerthError) {
        guard record.networkMode == "bridge", let driver = networks["bridge"] as? BridgeDriver else { return }
        let network = try await bridgeNetwork()
        let endpoint = try await driver.createEndpoint(network: network, endpointID: record.id)
        if let interface = endpoint.interface { spec.interfaces = [interface] }
        record.endpoint = endpoint
        do { try writeEtcFiles(record, address: endpoint.ipAddress) } catch {
            driver.deleteEndpoint(network: network, endpointID: record.id, address: endpoint.ipAddress)
            record.endpoint = nil
            throw error
        }
    }

    /// Releases the container's address (the veth pair went with its network namespace).
    func detachNetwork(_ record: inout ContainerRecord) {
        guard let endpoint = record.endpoint else { return }
        record.endpoint = nil
        if let driver = networks["bridge"] as? BridgeDriver, let network = bridgeRecord {
            driver.deleteEndpoint(network: network, endpointID: record.id, address: endpoint.ipAddress)
        }
    }

    /// After a restart: sets the bridge up again and takes back the addresses of running containers.
    func restoreNetworks() async {
        let running = records.values.filter { $0.isRunning && $0.endpoint != nil }
        guard !running.isEmpty, let driver = networks["bridge"] as? BridgeDriver else { return }
        guard let network = try? await bridgeNetwork() else { return }
        for r in running { driver.restoreEndpoint(network: network, address: r.endpoint?.ipAddress ?? "") }
    }
}
