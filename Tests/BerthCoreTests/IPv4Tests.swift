import BerthCore
import Testing

@Suite struct IPv4Tests {
    @Test func addressesParseAndPrint() {
        #expect(IPv4Address("172.17.0.2")?.value == 0xAC11_0002)
        #expect(IPv4Address("172.17.0.2")?.description == "172.17.0.2")
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", " 1.2.3.4", "1.2.3.-4"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func subnets() throws {
        let s = try #require(IPv4Subnet("172.17.0.0/16"))
        #expect(s.description == "172.17.0.0/16")
        #expect(s.contains(IPv4Address("172.17.255.254")!))
        #expect(!s.contains(IPv4Address("172.18.0.1")!))
        #expect(IPv4Subnet("172.17.5.9/16")?.description == "172.17.0.0/16")
        #expect(IPv4Subnet("172.17.5.9/16", strict: true) == nil)
        #expect(IPv4Subnet("10.0.0.0/33") == nil)
        #expect(s.overlaps(IPv4Subnet("172.16.0.0/12")!))
        #expect(s.overlaps(IPv4Subnet("172.17.3.0/24")!))
        #expect(!s.overlaps(IPv4Subnet("172.18.0.0/16")!))
        #expect(s.host(1)?.description == "172.17.0.1")
        #expect(s.last.description == "172.17.255.255")
        #expect(s.host(65535) == nil, "the broadcast address is not a host")
    }

    @Test func subnetAllocatorAvoidsHostRoutesAndNetworks() {
        let allocator = SubnetAllocator()
        #expect(allocator.allocate(avoiding: [])?.description == "172.17.0.0/16")
        // A host route that overlaps the default pool's first block (a /12 covering 172.16-31) pushes the
        // choice out to 192.168.
        #expect(allocator.allocate(avoiding: [IPv4Subnet("172.16.0.0/12")!])?.description == "192.168.0.0/20")
        // A host address in 172.17, and another network on 172.18.
        let used = [IPv4Subnet("172.17.0.9/24")!, IPv4Subnet("172.18.0.0/16")!]
        #expect(allocator.allocate(avoiding: used)?.description == "172.19.0.0/16")
        // Everything taken.
        let all = [IPv4Subnet("172.16.0.0/12")!, IPv4Subnet("192.168.0.0/16")!]
        #expect(allocator.allocate(avoiding: all) == nil)
        // The default route never counts: routes() leaves it out, and a /0 would overlap everything.
        let small = SubnetAllocator(pools: [.init(base: IPv4Subnet("10.99.0.0/16")!, size: 24)])
        #expect(small.allocate(avoiding: [IPv4Subnet("10.99.0.0/24")!])?.description == "10.99.1.0/24")
    }

    @Test func addressAllocatorNeverHandsOutAnAddressTwice() throws {
        var a = AddressAllocator(subnet: IPv4Subnet("10.1.2.0/29")!)
        #expect(a.gateway.description == "10.1.2.1")
        var got: [String] = []
        for _ in 0..<5 { got.append(try a.allocate().description) }
        #expect(got == ["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"])
        #expect(throws: BerthError.self) { try a.allocate() }
        a.release(IPv4Address("10.1.2.4")!)
        #expect(try a.allocate().description == "10.1.2.4")
        #expect(throws: BerthError.self) { try a.reserve(IPv4Address("10.1.2.3")!) }
        #expect(throws: BerthError.self) { try a.reserve(IPv4Address("10.1.3.3")!) }
        #expect(throws: BerthError.self) { try a.reserve(IPv4Address("10.1.2.7")!) }
        a.release(a.gateway)
        #expect(a.isUsed(a.gateway), "the gateway is never released")
    }

    @Test func releasedAddressesAreNotReusedAtOnce() throws {
        var a = AddressAllocator(subnet: IPv4Subnet("10.1.0.0/24")!)
        let first = try a.allocate()
        a.release(first)
        #expect(try a.allocate() != first)
        var b = AddressAllocator(subnet: IPv4Subnet("10.1.0.0/24")!)
        try b.reserve(IPv4Address("10.1.0.2")!)
        #expect(try b.allocate().description == "10.1.0.3")
    }

    @Test func macAddressesFollowDocker() {
        #expect(AddressAllocator.mac(for: IPv4Address("172.17.0.2")!) == "02:42:ac:11:00:02")
    }
}

@Suite struct DNSMessageTests {
    /// A query for `name` as a stub resolver sends it.
    static func query(_ name: String, type: UInt16 = 1, id: UInt16 = 0x1234) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { q += [UInt8(label.utf8.count)] + Array(label.utf8) }
        q += [0, 0, UInt8(type), 0, 1]
        return q
    }

    @Test func queriesParse() throws {
        let q = try #require(DNSMessage.parseQuery(Self.query("Web1.local")))
        #expect(q.id == 0x1234 && q.name == "web1.local" && q.type == DNSMessage.typeA && q.recursionDesired)
        #expect(DNSMessage.parseQuery([1, 2, 3]) == nil)
        var response = Self.query("x")
        response[2] |= 0x80
        #expect(DNSMessage.parseQuery(response) == nil, "a response is not a query")
        #expect(DNSMessage.parseQuery(Array(Self.query("abc").dropLast(3))) == nil, "truncated")
    }

    @Test func answersCarryTheAddresses() throws {
        let q = try #require(DNSMessage.parseQuery(Self.query("web")))
        let a = DNSMessage.answer(q, addresses: [IPv4Address("172.18.0.2")!], code: .noError)
        #expect(Array(a[0..<4]) == [0x12, 0x34, 0x85, 0x80])  // id, QR AA RD, RA NOERROR
        #expect(Array(a[4..<12]) == [0, 1, 0, 1, 0, 0, 0, 0])
        #expect(Array(a.suffix(16)) == [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 172, 18, 0, 2])
        let aaaa = try #require(DNSMessage.parseQuery(Self.query("web", type: 28)))
        let none = DNSMessage.answer(aaaa, addresses: [IPv4Address("172.18.0.2")!], code: .noError)
        #expect(none[7] == 0, "no A records in an AAAA answer")
        let fail = DNSMessage.answer(q, addresses: [], code: .serverFailure)
        #expect(fail[3] & 0x0F == 2 && fail[7] == 0)
    }
}
