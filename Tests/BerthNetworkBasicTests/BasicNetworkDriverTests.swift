import BerthCore
import Testing

@testable import BerthNetworkBasic

struct BasicNetworkDriverTests {
    static func record(_ driver: String) -> NetworkRecord {
        NetworkRecord(
            id: String(repeating: "a", count: 64), name: driver, driver: driver, created: "2026-11-29T14:25:57Z")
    }

    @Test func noneIsAnIsolatedNamespace() async throws {
        let driver: any NetworkDriver = NoneNetworkDriver()
        #expect(driver.name == "none")
        #expect(driver.sandboxMode(network: Self.record("none")) == .isolated)
        // The default lifecycle methods succeed and hand out no addresses.
        try await driver.createNetwork(Self.record("none"))
        let endpoint = try await driver.createEndpoint(network: Self.record("none"), endpointID: "e1")
        #expect(endpoint == EndpointInfo())
        #expect(try await driver.join(network: Self.record("none"), endpointID: "e1", pid: 1) == EndpointInfo())
        await driver.leave(network: Self.record("none"), endpointID: "e1")
        await driver.deleteEndpoint(network: Self.record("none"), endpointID: "e1")
        try await driver.deleteNetwork(Self.record("none"))
    }

    @Test func hostSharesTheHostNamespace() async throws {
        let driver: any NetworkDriver = HostNetworkDriver()
        #expect(driver.name == "host")
        #expect(driver.sandboxMode(network: Self.record("host")) == .host)
        let endpoint = try await driver.createEndpoint(network: Self.record("host"), endpointID: "e1")
        #expect(endpoint.ipAddress.isEmpty && endpoint.gateway.isEmpty && endpoint.macAddress.isEmpty)
        #expect(endpoint.prefixLength == 0)
    }

    @Test func driversAreDistinguishedByName() {
        let drivers: [any NetworkDriver] = [NoneNetworkDriver(), HostNetworkDriver()]
        let byName = Dictionary(uniqueKeysWithValues: drivers.map { ($0.name, $0) })
        #expect(byName.keys.sorted() == ["host", "none"])
        #expect(
            byName["none"]?.sandboxMode(network: Self.record("none"))
                != byName["host"]?.sandboxMode(network: Self.record("host")))
    }
}
