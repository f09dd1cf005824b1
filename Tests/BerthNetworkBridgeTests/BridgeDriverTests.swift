import BerthCore
import BerthNetworkBridge
import BerthOS
import Foundation
import Testing

/// The driver against the real kernel: a bridge of its own on a private /24, removed afterwards.
@Suite(.serialized) struct BridgeDriverTests {
    static func record(_ bridge: String, _ subnet: String) -> NetworkRecord {
        let gateway = IPv4Subnet(subnet)?.host(1)?.description ?? ""
        return NetworkRecord(
            id: "test-" + bridge, name: bridge, driver: "bridge", created: "",
            options: ["bridge": bridge, "subnet": subnet, "gateway": gateway, "mtu": "1400"])
    }

    static func free24() throws -> String {
        let used = HostNetwork.routes() + HostNetwork.addresses()
        let pools = [SubnetAllocator.Pool(base: IPv4Subnet(IPv4Address(0x0AD5_0000), prefixLength: 16), size: 24)]
        return try #require(SubnetAllocator(pools: pools).allocate(avoiding: used)).description
    }

    @Test func bridgeIsMadeWithItsGatewayAndRemoved() async throws {
        let name = "btu\(UInt16.random(in: 0...UInt16.max))"
        let subnet = try Self.free24()
        let record = Self.record(name, subnet)
        let driver = BridgeDriver()
        try await driver.createNetwork(record)
        defer { Task { try? await driver.deleteNetwork(record) } }
        #expect(HostNetwork.linkExists(name))
        let gateway = IPv4Subnet(subnet)!.host(1)!
        #expect(HostNetwork.addresses().contains(IPv4Subnet(gateway, prefixLength: 24)))
        #expect(HostNetwork.routes().contains(IPv4Subnet(subnet)!))
        // Idempotent, also for a new driver taking over an existing bridge (a daemon restart).
        try await BridgeDriver().createNetwork(record)

        let e1 = try await driver.createEndpoint(network: record, endpointID: "aaaaaaaaaaaaaaaa")
        let e2 = try await driver.createEndpoint(network: record, endpointID: "bbbbbbbbbbbbbbbb")
        #expect(e1.ipAddress != e2.ipAddress)
        #expect(e1.gateway == gateway.description && e1.prefixLength == 24)
        #expect(e1.interface?.bridge == name && e1.interface?.containerName == "eth0")
        #expect(e1.interface?.hostName == "vethaaaaaaaaaaa" && e1.interface?.mtu == 1400)
        #expect(e1.macAddress == AddressAllocator.mac(for: IPv4Address(e1.ipAddress)!))
        // An address of a container that kept running across a restart is not handed out again.
        let restarted = BridgeDriver()
        try await restarted.createNetwork(record)
        restarted.restoreEndpoint(network: record, address: e1.ipAddress)
        let e3 = try await restarted.createEndpoint(network: record, endpointID: "cccccccccccccccc")
        #expect(e3.ipAddress != e1.ipAddress)
        await #expect(throws: BerthError.self) {
            try await restarted.createEndpoint(
                network: record, endpointID: "dddddddddddddddd", requested: IPv4Address(e3.ipAddress))
        }

        try await driver.deleteNetwork(record)
        #expect(!HostNetwork.linkExists(name))
    }

    @Test func badNetworksAreRefused() async throws {
        let driver = BridgeDriver()
        var record = Self.record("btu-bad", "10.213.250.0/24")
        record.options["subnet"] = "not-a-subnet"
        await #expect(throws: BerthError.self) { try await driver.createNetwork(record) }
        #expect(!HostNetwork.linkExists("btu-bad"))
        await #expect(throws: BerthError.self) {
            try await driver.createEndpoint(network: Self.record("btu-none", "10.213.251.0/24"), endpointID: "x")
        }
    }
}
