import BerthCore
import BerthOS
import CBerthLinux
import Glibc
import Synchronization

/// The `bridge` network driver: a Linux bridge per network with the gateway address on it, and for each
/// container a veth pair from the bridge into the container's network namespace (the shim wires it, from the
/// `ShimSpec.Interface` this driver describes). Links and addresses go through rtnetlink, never `ip`.
///
/// A network's record carries its options: `bridge` (the interface name), `subnet`, `gateway`, `mtu`.
public final class BridgeDriver: NetworkDriver {
    public let name = "bridge"

    struct Network {
        var record: NetworkRecord
        var addresses: AddressAllocator
        var bridge: String
        var mtu: Int
    }

    private let networks = Mutex<[String: Network]>([:])

    public init() {}

    public func sandboxMode(network: NetworkRecord) -> SandboxMode { .isolated }

    static func settings(_ record: NetworkRecord) throws(BerthError) -> (IPv4Subnet, IPv4Address, String, Int) {
        guard let subnet = record.options["subnet"].flatMap({ IPv4Subnet($0) }),
            let gateway = record.options["gateway"].flatMap({ IPv4Address($0) }),
            let bridge = record.options["bridge"], !bridge.isEmpty
        else { throw .invalidArgument("network \(record.name): missing subnet, gateway or bridge name") }
        return (subnet, gateway, bridge, Int(record.options["mtu"] ?? "") ?? 1500)
    }

    /// Makes the bridge (or takes over one of the same name left by an earlier run) and puts the gateway
    /// address on it.
    public func createNetwork(_ record: NetworkRecord) async throws(BerthError) {
        let (subnet, gateway, bridge, mtu) = try Self.settings(record)
        if networks.withLock({ $0[record.id] != nil }) { return }
        if !HostNetwork.linkExists(bridge) {
            let rc = berth_nl_bridge_add(bridge, Int32(mtu))
            if rc < 0, rc != -EEXIST { throw Syscall.error("create bridge \(bridge)", errno: -rc) }
        }
        let bytes: [UInt8] = [
            UInt8(gateway.value >> 24), UInt8(gateway.value >> 16 & 0xff), UInt8(gateway.value >> 8 & 0xff),
            UInt8(gateway.value & 0xff),
        ]
        let rc = berth_nl_addr_add(bridge, bytes, Int32(subnet.prefixLength))
        if rc < 0, rc != -EEXIST {
            _ = berth_nl_link_del(bridge)
            throw Syscall.error("add \(gateway)/\(subnet.prefixLength) to \(bridge)", errno: -rc)
        }
        // Published ports answer on the host's loopback: packets from 127.0.0.1 may leave through the bridge
        // (and are masqueraded there). Networks that reach out need forwarding.
        _ = try? FileSystem.writeFile("/proc/sys/net/ipv4/conf/\(bridge)/route_localnet", "1")
        if !record.isInternal { _ = try? FileSystem.writeFile("/proc/sys/net/ipv4/ip_forward", "1") }
        var up = berth_link_settings(up: 1, master: nil, netns_fd: -1, new_name: nil, mac: nil, mtu: 0)
        let upRC = berth_nl_link_set(bridge, &up)
        if upRC < 0 { throw Syscall.error("bring up \(bridge)", errno: -upRC) }
        networks.withLock {
            $0[record.id] = Network(
                record: record, addresses: AddressAllocator(subnet: subnet, gateway: gateway), bridge: bridge, mtu: mtu)
        }
    }

    public func deleteNetwork(_ record: NetworkRecord) async throws(BerthError) {
        let (_, _, bridge, _) = try Self.settings(record)
        networks.withLock { _ = $0.removeValue(forKey: record.id) }
        let rc = berth_nl_link_del(bridge)
        if rc < 0, rc != -ENODEV { throw Syscall.error("delete bridge \(bridge)", errno: -rc) }
    }

    /// Allocates the endpoint's address (or takes `requested`) and describes the veth pair for the shim.
    public func createEndpoint(network: NetworkRecord, endpointID: String) async throws(BerthError) -> EndpointInfo {
        try await createEndpoint(network: network, endpointID: endpointID, requested: nil)
    }

    public func createEndpoint(network: NetworkRecord, endpointID: String, requested: IPv4Address?)
        async throws(BerthError) -> EndpointInfo
    {
        let result: Result<(IPv4Address, Network), BerthError> = networks.withLock { all in
            guard var n = all[network.id] else {
                return .failure(.notFound("network \(network.name) is not set up"))
            }
            do throws(BerthError) {
                let address: IPv4Address
                if let requested {
                    try n.addresses.reserve(requested)
                    address = requested
                } else {
                    address = try n.addresses.allocate()
                }
                all[network.id] = n
                return .success((address, n))
            } catch {
                return .failure(error)
            }
        }
        let (address, n) = try result.get()
        var info = EndpointInfo()
        info.ipAddress = address.description
        info.prefixLength = n.addresses.subnet.prefixLength
        info.gateway = network.isInternal ? "" : n.addresses.gateway.description
        info.macAddress = AddressAllocator.mac(for: address)
        let tag = String(endpointID.prefix(11))
        info.interface = ShimSpec.Interface(
            bridge: n.bridge, hostName: "veth" + tag, peerName: "vp" + tag, containerName: "eth0", mtu: n.mtu,
            address: info.ipAddress, prefixLength: info.prefixLength, gateway: info.gateway,
            macAddress: info.macAddress)
        return info
    }

    /// Takes back an address recorded before a restart.
    public func restoreEndpoint(network: NetworkRecord, address: String) {
        guard let a = IPv4Address(address) else { return }
        networks.withLock { all in
            guard var n = all[network.id] else { return }
            try? n.addresses.reserve(a)
            all[network.id] = n
        }
    }

    /// Releases the address. The veth pair needs no deleting: the kernel removes it with the container's
    /// network namespace (deleting it here would wait for an RCU grace period on the exit path), and the
    /// shim deletes a pair it could not finish.
    public func deleteEndpoint(network: NetworkRecord, endpointID: String, address: String) {
        guard let a = IPv4Address(address) else { return }
        networks.withLock { all in
            guard var n = all[network.id] else { return }
            n.addresses.release(a)
            all[network.id] = n
        }
    }
}
