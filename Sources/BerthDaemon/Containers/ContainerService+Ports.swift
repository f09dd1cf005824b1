import BerthCore
import BerthNetworkBridge

extension ContainerService {
    /// The ports a container asks for: `PortBindings` (`-p`), and with `PublishAllPorts` (`-P`) every
    /// exposed port not bound already, on a free host port. Each entry: proto, host IP, host port (0: any),
    /// container port.
    static func requestedPorts(_ record: ContainerRecord) throws(BerthError) -> [(String, IPv4Address?, UInt16, UInt16)]
    {
        var out: [(String, IPv4Address?, UInt16, UInt16)] = []
        var bound: Set<String> = []
        for (key, value) in record.hostConfig["PortBindings"]?.objectMembers ?? [] {
            let (port, proto) = try parsePortKey(key)
            bound.insert("\(port)/\(proto)")
            for binding in value.arrayValue ?? [] {
                let ipText = binding["HostIp"]?.stringValue ?? ""
                if ipText.contains(":") { continue }  // IPv6: not supported by this engine yet
                var ip: IPv4Address?
                if !ipText.isEmpty, ipText != "0.0.0.0" {
                    guard let parsed = IPv4Address(ipText) else {
                        throw .invalidArgument("invalid IP address in port binding: \(ipText)")
                    }
                    ip = parsed
                }
                let hostText = binding["HostPort"]?.stringValue ?? ""
                var hostPort: UInt16 = 0
                if !hostText.isEmpty {
                    guard let p = UInt16(hostText), p > 0 else {
                        throw .invalidArgument("invalid host port in port binding: \(hostText)")
                    }
                    hostPort = p
                }
                out.append((proto, ip, hostPort, port))
            }
        }
        if record.hostConfig["PublishAllPorts"]?.boolValue == true {
            for (key, _) in record.config["ExposedPorts"]?.objectMembers ?? [] {
                let (port, proto) = try parsePortKey(key)
                if !bound.contains("\(port)/\(proto)") { out.append((proto, nil, 0, port)) }
            }
        }
        return out
    }

    /// "80/tcp", "53/udp", "80" (tcp).
    static func parsePortKey(_ key: String) throws(BerthError) -> (UInt16, String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let port = UInt16(parts[0]), port > 0, parts.count <= 2 else {
            throw .invalidArgument("invalid port specification: \"\(key)\"")
        }
        let proto = parts.count == 2 ? parts[1].lowercased() : "tcp"
        guard proto == "tcp" || proto == "udp" else { throw .invalidArgument("invalid proto: \(proto)") }
        return (port, proto)
    }

    /// Holds the host ports of a starting container; on any failure nothing stays held.
    func publishPorts(_ record: inout ContainerRecord, address: IPv4Address) throws(BerthError) {
        let requested = try Self.requestedPorts(record)
        guard !requested.isEmpty else { return }
        var held: [PortReservation] = []
        var published: [PublishedPort] = []
        for (proto, ip, hostPort, port) in requested {
            let reservation = try PortReservation(proto: proto, hostIP: ip, port: hostPort)
            held.append(reservation)
            published.append(
                PublishedPort(
                    proto: proto, hostIP: ip, hostPort: reservation.port, containerIP: address, containerPort: port))
        }
        portReservations[record.id] = held
        record.ports = published
    }

    func releasePorts(_ record: inout ContainerRecord) {
        portReservations[record.id] = nil
        record.ports = []
    }

    /// Rebuilds Berth's nftables table from the networks and the running containers' ports.
    func applyFirewall() throws(BerthError) {
        var fw = Firewall(table: configuration.engine.network.nftTable)
        for r in networkRecords.values.sorted(by: { $0.name < $1.name }) {
            guard let bridge = r.options["bridge"], let subnet = r.options["subnet"].flatMap({ IPv4Subnet($0) }) else {
                continue
            }
            fw.networks.append(Firewall.Network(bridge: bridge, subnet: subnet, isInternal: r.isInternal))
        }
        for r in records.values where r.isRunning || r.status == .created { fw.ports += r.ports }
        guard fw != appliedFirewall else { return }
        try fw.apply()
        appliedFirewall = fw
    }

    /// Teardown paths log a firewall failure instead of failing.
    func applyFirewallQuietly() {
        do { try applyFirewall() } catch {
            logger.error("could not update the firewall rules", metadata: [LogKey.error: "\(error.message)"])
        }
    }

    /// inspect's `NetworkSettings.Ports`: exposed ports, with their host bindings while published.
    static func portsJSON(_ r: ContainerRecord) -> JSONValue {
        var keys: [String] = (r.config["ExposedPorts"]?.objectMembers ?? []).map(\.0)
        for p in r.ports where !keys.contains("\(p.containerPort)/\(p.proto)") {
            keys.append("\(p.containerPort)/\(p.proto)")
        }
        return .object(
            keys.sorted().map { key in
                let bindings = r.ports.filter { "\($0.containerPort)/\($0.proto)" == key }
                return (
                    key,
                    bindings.isEmpty
                        ? .null
                        : .array(
                            bindings.map {
                                .object([
                                    ("HostIp", .string($0.hostIP?.description ?? "0.0.0.0")),
                                    ("HostPort", .string(String($0.hostPort))),
                                ])
                            })
                )
            })
    }

    /// `docker ps`'s `Ports`.
    static func portsListJSON(_ r: ContainerRecord) -> JSONValue {
        .array(
            r.ports.map {
                .object([
                    ("IP", .string($0.hostIP?.description ?? "0.0.0.0")), ("PrivatePort", .int($0.containerPort)),
                    ("PublicPort", .int($0.hostPort)), ("Type", .string($0.proto)),
                ])
            })
    }
}
