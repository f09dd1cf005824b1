/// An IPv4 address as a 32-bit number (network order in the value's bit pattern: a.b.c.d = a<<24 | ...).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses "a.b.c.d"; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let n = UInt8(p) else { return nil }
            v = v << 8 | UInt32(n)
        }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }

    /// The four octets in network order, as C structs take them.
    public var bytes: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff))
    }
}

/// An IPv4 subnet: a network address and a prefix length.
public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    /// The subnet containing `address` with `prefixLength` (host bits cleared).
    public init(_ address: IPv4Address, prefixLength: Int) {
        self.prefixLength = max(0, min(32, prefixLength))
        network = IPv4Address(address.value & Self.mask(self.prefixLength))
    }

    /// Parses "a.b.c.d/n"; nil when malformed. Host bits must be zero when `strict`.
    public init?(_ text: some StringProtocol, strict: Bool = false) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]), let n = Int(parts[1]), (0...32).contains(n)
        else { return nil }
        if strict, address.value & ~Self.mask(n) != 0 { return nil }
        self.init(address, prefixLength: n)
    }

    public static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    public var mask: UInt32 { Self.mask(prefixLength) }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var first: IPv4Address { network }
    public var last: IPv4Address { IPv4Address(network.value | ~mask) }
    public var description: String { "\(network)/\(prefixLength)" }

    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == network.value }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let m = Self.mask(min(prefixLength, other.prefixLength))
        return network.value & m == other.network.value & m
    }

    /// The usable host addresses (first and last excluded below /31).
    public func host(_ index: UInt32) -> IPv4Address? {
        let a = UInt64(network.value) + UInt64(index)
        guard index >= 1, a < UInt64(last.value) || prefixLength >= 31 else { return nil }
        return IPv4Address(UInt32(a))
    }
}

/// Chooses subnets for networks: the first block of a pool that overlaps nothing in use (host routes, host
/// addresses, other networks). Docker's default pools: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.
public struct SubnetAllocator: Sendable {
    public struct Pool: Sendable, Equatable {
        public var base: IPv4Subnet
        /// The size of each network carved from `base`.
        public var size: Int
        public init(base: IPv4Subnet, size: Int) {
            self.base = base
            self.size = size
        }
    }

    public var pools: [Pool]

    public static let dockerDefaultPools: [Pool] = [
        (IPv4Address(0xAC11_0000), 16), (IPv4Address(0xAC12_0000), 15), (IPv4Address(0xAC14_0000), 14),
        (IPv4Address(0xAC18_0000), 14), (IPv4Address(0xAC1C_0000), 14), (IPv4Address(0xC0A8_0000), 16),
    ].map { base, prefix in
        // 172.17.0.0/16, 172.18-19, 172.20-23, 172.24-27, 172.28-31 in /16s; 192.168.0.0/16 in /20s.
        Pool(base: IPv4Subnet(base, prefixLength: prefix), size: base.value == 0xC0A8_0000 ? 20 : 16)
    }

    public init(pools: [Pool] = SubnetAllocator.dockerDefaultPools) { self.pools = pools }

    /// The first free subnet, or nil when every block overlaps something in `used`.
    public func allocate(avoiding used: [IPv4Subnet]) -> IPv4Subnet? {
        for pool in pools {
            let step = UInt64(1) << UInt64(32 - pool.size)
            var start = UInt64(pool.base.network.value)
            let end = UInt64(pool.base.last.value)
            while start <= end {
                let candidate = IPv4Subnet(IPv4Address(UInt32(start)), prefixLength: pool.size)
                if !used.contains(where: { $0.overlaps(candidate) }) { return candidate }
                start += step
            }
        }
        return nil
    }
}

/// The addresses of one network: the gateway and the containers' endpoints; never one address twice.
public struct AddressAllocator: Sendable {
    public let subnet: IPv4Subnet
    public let gateway: IPv4Address
    /// Containers get addresses from here (all of the subnet by default, `--ip-range` narrows it).
    public let range: IPv4Subnet
    private var used: Set<UInt32> = []
    private var next: UInt32 = 1

    public init(subnet: IPv4Subnet, gateway: IPv4Address? = nil, range: IPv4Subnet? = nil) {
        self.subnet = subnet
        self.gateway = gateway ?? subnet.host(1) ?? subnet.network
        self.range = range ?? subnet
        used.insert(self.gateway.value)
    }

    public func isUsed(_ a: IPv4Address) -> Bool { used.contains(a.value) }

    /// Reserves `address` (an explicit `--ip`, or one recorded before a restart).
    public mutating func reserve(_ address: IPv4Address) throws(BerthError) {
        guard subnet.contains(address), address != subnet.first, address != subnet.last || subnet.prefixLength >= 31
        else { throw .invalidArgument("no available IPv4 address: \(address) is not in subnet \(subnet)") }
        guard !used.contains(address.value) else {
            throw .conflict("Address already in use: \(address) is taken on this network")
        }
        used.insert(address.value)
    }

    /// The next free address of the range, round-robin from the last one handed out (so a released address is
    /// not reused at once, as Docker's IPAM).
    public mutating func allocate() throws(BerthError) -> IPv4Address {
        let count = UInt32(min(range.size, UInt64(UInt32.max)))
        for i in 0..<count {
            let offset = (next + i) % count
            let a = IPv4Address(range.network.value &+ offset)
            guard subnet.contains(a), a != subnet.first, a != subnet.last || subnet.prefixLength >= 31,
                !used.contains(a.value)
            else { continue }
            used.insert(a.value)
            next = offset + 1
            return a
        }
        throw BerthError(.unavailable, "no available IPv4 addresses on network \(subnet)")
    }

    public mutating func release(_ address: IPv4Address) {
        if address != gateway { used.remove(address.value) }
    }

    /// Docker's MAC for an address: 02:42 followed by the four address bytes.
    public static func mac(for a: IPv4Address) -> String {
        let v = a.value
        return [0x02, 0x42, v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff].map {
            let s = String($0, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }
}
