import BerthCore
import BerthNetworkBridge

/// A container as persisted in `<root>/containers/<id>/config.v2.json`: its configuration (Docker's `Config`
/// and `HostConfig`, kept as JSON so inspect shows what was asked) and its persisted status.
struct ContainerRecord: Sendable {
    enum Status: String, Sendable {
        case created, running, paused, restarting, removing, exited, dead
    }

    var id: String
    var name: String
    var created: Int64
    var path: String
    var args: [String]
    /// The effective `Config` (image defaults merged in).
    var config: JSONValue
    var hostConfig: JSONValue
    var imageID: String
    var driver: String
    var status: Status = .created
    var pid: Int32 = 0
    var exitCode: Int32 = 0
    var error: String = ""
    var startedAt: Int64 = 0
    var finishedAt: Int64 = 0
    var oomKilled: Bool = false
    var restartCount: Int = 0
    /// Set when the container was started at least once (`docker ps` shows `Exited` rather than `Created`).
    var hasRun: Bool = false
    /// The container's endpoint on its network while it runs (bridge): address, gateway, MAC.
    var endpoint: EndpointInfo?
    /// `--network-alias`: more names for the container on its user network.
    var aliases: [String] = []
    /// `--ip` and `--mac-address` on its network.
    var requestedIP = ""
    var requestedMAC = ""
    /// Published ports while the container runs.
    var ports: [PublishedPort] = []
    /// Networks joined with `network connect`, besides the one it was created on.
    var connections: [Connection] = []
    /// Binds, volumes and tmpfs mounts, resolved at create.
    var mounts: [MountPoint] = []
    /// Stopped or killed through the API: no restart policy restarts it (until a daemon restart, for `always`).
    var manuallyStopped = false
    /// Disconnected from the network it was created on (`network disconnect`): it starts without it.
    var primaryDetached = false

    struct Connection: Sendable {
        var networkID: String
        var aliases: [String] = []
        var requestedIP = ""
        /// Its interface inside (eth1, eth2, ...) and endpoint while the container runs.
        var ifname = ""
        var endpoint: EndpointInfo?

        var json: JSONValue {
            .object([
                ("network", .string(networkID)), ("aliases", .strings(aliases)), ("requestedIP", .string(requestedIP)),
                ("ifname", .string(ifname)), ("ip", .string(endpoint?.ipAddress ?? "")),
                ("prefix", .int(endpoint?.prefixLength ?? 0)), ("mac", .string(endpoint?.macAddress ?? "")),
            ])
        }

        init(networkID: String) { self.networkID = networkID }

        init?(json: JSONValue) {
            guard let id = json["network"]?.stringValue else { return nil }
            networkID = id
            aliases = json["aliases"]?.stringArray ?? []
            requestedIP = json["requestedIP"]?.stringValue ?? ""
            ifname = json["ifname"]?.stringValue ?? ""
            if let ip = json["ip"]?.stringValue, !ip.isEmpty {
                var e = EndpointInfo()
                e.ipAddress = ip
                e.prefixLength = json["prefix"]?.intValue ?? 0
                e.macAddress = json["mac"]?.stringValue ?? ""
                endpoint = e
            }
        }
    }

    var shortID: String { String(id.prefix(12)) }
    var tty: Bool { config["Tty"]?.boolValue ?? false }
    var autoRemove: Bool { hostConfig["AutoRemove"]?.boolValue ?? false }
    var labels: [String: String] { config["Labels"]?.stringMap ?? [:] }
    var networkMode: String {
        let m = hostConfig["NetworkMode"]?.stringValue ?? ""
        return m.isEmpty || m == "default" ? "none" : m
    }
    var isRunning: Bool { status == .running || status == .paused || status == .restarting }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("created", .string(String(created))),
            ("path", .string(path)),
            ("args", .strings(args)), ("config", config), ("hostConfig", hostConfig), ("imageID", .string(imageID)),
            ("driver", .string(driver)), ("status", .string(status.rawValue)), ("pid", .int(pid)),
            ("exitCode", .int(exitCode)), ("error", .string(error)), ("startedAt", .string(String(startedAt))),
            ("finishedAt", .string(String(finishedAt))), ("oomKilled", .bool(oomKilled)),
            ("restartCount", .int(restartCount)), ("hasRun", .bool(hasRun)), ("aliases", .strings(aliases)),
            ("primaryDetached", .bool(primaryDetached)), ("manuallyStopped", .bool(manuallyStopped)),
            ("mounts", .array(mounts.map(\.json))),
            ("connections", .array(connections.map(\.json))),
            ("requestedIP", .string(requestedIP)), ("requestedMAC", .string(requestedMAC)),
            (
                "ports",
                .array(
                    ports.map {
                        .object([
                            ("proto", .string($0.proto)), ("hostIP", .string($0.hostIP?.description ?? "")),
                            ("hostPort", .int($0.hostPort)), ("containerIP", .string($0.containerIP.description)),
                            ("containerPort", .int($0.containerPort)),
                        ])
                    })
            ),
            (
                "endpoint",
                endpoint.map {
                    .object([
                        ("ip", .string($0.ipAddress)), ("prefix", .int($0.prefixLength)),
                        ("gateway", .string($0.gateway)), ("mac", .string($0.macAddress)),
                    ])
                } ?? .null
            ),
        ])
    }

    init(
        id: String, name: String, created: Int64, path: String, args: [String], config: JSONValue,
        hostConfig: JSONValue, imageID: String, driver: String
    ) {
        self.id = id
        self.name = name
        self.created = created
        self.path = path
        self.args = args
        self.config = config
        self.hostConfig = hostConfig
        self.imageID = imageID
        self.driver = driver
    }

    init(json: JSONValue) throws(BerthError) {
        guard let id = json["id"]?.stringValue, let name = json["name"]?.stringValue else {
            throw .internalError("corrupt container record")
        }
        self.init(
            id: id, name: name, created: Int64(json["created"]?.stringValue ?? "") ?? 0,
            path: json["path"]?.stringValue ?? "",
            args: json["args"]?.stringArray ?? [], config: json["config"] ?? .object([]),
            hostConfig: json["hostConfig"] ?? .object([]),
            imageID: json["imageID"]?.stringValue ?? "", driver: json["driver"]?.stringValue ?? "")
        status = Status(rawValue: json["status"]?.stringValue ?? "") ?? .exited
        pid = Int32(json["pid"]?.intValue ?? 0)
        exitCode = Int32(json["exitCode"]?.intValue ?? 0)
        error = json["error"]?.stringValue ?? ""
        startedAt = Int64(json["startedAt"]?.stringValue ?? "") ?? 0
        finishedAt = Int64(json["finishedAt"]?.stringValue ?? "") ?? 0
        oomKilled = json["oomKilled"]?.boolValue ?? false
        restartCount = json["restartCount"]?.intValue ?? 0
        hasRun = json["hasRun"]?.boolValue ?? false
        connections = (json["connections"]?.arrayValue ?? []).compactMap { Connection(json: $0) }
        aliases = json["aliases"]?.stringArray ?? []
        primaryDetached = json["primaryDetached"]?.boolValue ?? false
        manuallyStopped = json["manuallyStopped"]?.boolValue ?? false
        if let list = json["mounts"]?.arrayValue {
            mounts = list.compactMap { MountPoint(json: $0) }
        } else {
            // Records written before mounts were resolved at create: their binds.
            mounts = (hostConfig["Binds"]?.stringArray ?? []).compactMap { try? ContainerService.parseBindSpec($0) }
        }
        requestedIP = json["requestedIP"]?.stringValue ?? ""
        requestedMAC = json["requestedMAC"]?.stringValue ?? ""
        for p in json["ports"]?.arrayValue ?? [] {
            guard let proto = p["proto"]?.stringValue, let hostPort = p["hostPort"]?.intValue,
                let ip = p["containerIP"]?.stringValue.flatMap({ IPv4Address($0) }),
                let cport = p["containerPort"]?.intValue
            else { continue }
            ports.append(
                PublishedPort(
                    proto: proto, hostIP: p["hostIP"]?.stringValue.flatMap { IPv4Address($0) },
                    hostPort: UInt16(clamping: hostPort), containerIP: ip, containerPort: UInt16(clamping: cport)))
        }
        if let e = json["endpoint"], let ip = e["ip"]?.stringValue {
            var info = EndpointInfo()
            info.ipAddress = ip
            info.prefixLength = e["prefix"]?.intValue ?? 0
            info.gateway = e["gateway"]?.stringValue ?? ""
            info.macAddress = e["mac"]?.stringValue ?? ""
            endpoint = info
        }
    }
}
