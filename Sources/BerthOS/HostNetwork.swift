import BerthCore
import Glibc

/// What the host's network already uses, so a new network's subnet overlaps none of it.
public enum HostNetwork {
    /// IPv4 routes of the main table (from /proc/net/route), without the default route.
    public static func routes() -> [IPv4Subnet] {
        guard let text = try? FileSystem.readText("/proc/net/route") else { return [] }
        var out: [IPv4Subnet] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dest = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16), mask != 0
            else { continue }
            // The kernel prints them in host (little-endian) byte order.
            let d = IPv4Address(dest.byteSwapped)
            out.append(IPv4Subnet(d, prefixLength: mask.nonzeroBitCount))
        }
        return out
    }

    /// The IPv4 addresses of every host interface, as subnets (address and prefix).
    public static func addresses() -> [IPv4Subnet] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var out: [IPv4Subnet] = []
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let addr = ifa.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                let mask = ifa.pointee.ifa_netmask
            else { continue }
            let a = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            let m = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            out.append(IPv4Subnet(IPv4Address(a), prefixLength: m.nonzeroBitCount))
        }
        return out
    }

    /// Whether a network interface of this name exists.
    public static func linkExists(_ name: String) -> Bool { if_nametoindex(name) != 0 }
}
