import BerthCore
import BerthOS

extension ContainerService {
    /// `GET /containers/{id}/json`.
    func inspect(_ ref: String) async throws(BerthError) -> JSONValue {
        let r = try lookup(ref)
        let dir = recordDir(r.id)
        let time = { (n: Int64) -> JSONValue in .string(n == 0 ? "0001-01-01T00:00:00Z" : Clock.rfc3339Nano(n)) }
        var state: JSONValue = .object([
            ("Status", .string(r.status.rawValue)), ("Running", .bool(r.isRunning)),
            ("Paused", .bool(r.status == .paused)),
            ("Restarting", .bool(r.status == .restarting)), ("OOMKilled", .bool(r.oomKilled)),
            ("Dead", .bool(r.status == .dead)),
            ("Pid", .int(r.pid)), ("ExitCode", .int(r.exitCode)), ("Error", .string(r.error)),
            ("StartedAt", time(r.startedAt)), ("FinishedAt", time(r.finishedAt)),
        ])
        if r.status == .removing { state["Status"] = .string("removing") }
        if let h = health[r.id], r.isRunning { state["Health"] = h.json }
        let metadata = await storage.metadata(id: r.id)
        var hostConfig = r.hostConfig
        for key in ["Binds", "CapAdd", "CapDrop", "Dns", "DnsSearch", "ExtraHosts", "SecurityOpt", "Ulimits"]
        where hostConfig[key] == nil {
            hostConfig[key] = .null
        }
        for key in ["Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota"]
        where hostConfig[key] == nil {
            hostConfig[key] = .int(0)
        }
        for key in ["Privileged", "ReadonlyRootfs", "AutoRemove", "PublishAllPorts"] where hostConfig[key] == nil {
            hostConfig[key] = .bool(false)
        }
        if hostConfig["RestartPolicy"] == nil {
            hostConfig["RestartPolicy"] = .object([("Name", .string("no")), ("MaximumRetryCount", .int(0))])
        }
        if hostConfig["PidsLimit"] == nil { hostConfig["PidsLimit"] = .null }
        let network = r.networkMode
        let ep = r.endpoint
        let networkID = findNetwork(network)?.id ?? network
        return .object([
            ("Id", .string(r.id)),
            ("Created", .string(Clock.rfc3339Nano(r.created))),
            ("Path", .string(r.path)),
            ("Args", .strings(r.args)),
            ("State", state),
            ("Image", .string(r.imageID)),
            ("ResolvConfPath", .string(dir + "/resolv.conf")),
            ("HostnamePath", .string(dir + "/hostname")),
            ("HostsPath", .string(dir + "/hosts")),
            ("LogPath", .string(logPath(r.id))),
            ("Name", .string("/" + r.name)),
            ("RestartCount", .int(r.restartCount)),
            ("Driver", .string(r.driver)),
            ("Platform", .string("linux")),
            ("MountLabel", .string("")),
            ("ProcessLabel", .string("")),
            ("AppArmorProfile", .string("")),
            ("ExecIDs", execIDs(of: r.id)),
            ("HostConfig", hostConfig),
            ("GraphDriver", .object([("Name", .string(r.driver)), ("Data", .map(metadata))])),
            ("Mounts", mountsJSON(r)),
            ("Config", r.config),
            (
                "NetworkSettings",
                .object([
                    ("Bridge", .string("")), ("SandboxID", .string("")), ("HairpinMode", .bool(false)),
                    ("LinkLocalIPv6Address", .string("")), ("LinkLocalIPv6PrefixLen", .int(0)),
                    ("Ports", Self.portsJSON(r)),
                    ("SandboxKey", .string(r.isRunning && network != "host" ? "/proc/\(r.pid)/ns/net" : "")),
                    ("Gateway", .string(ep?.gateway ?? "")), ("IPAddress", .string(ep?.ipAddress ?? "")),
                    ("IPPrefixLen", .int(ep?.prefixLength ?? 0)), ("MacAddress", .string(ep?.macAddress ?? "")),
                    (
                        "Networks",
                        .object(
                            (r.primaryDetached
                                ? []
                                : [
                                    (
                                        network,
                                        .object([
                                            ("IPAMConfig", .null), ("Links", .null), ("Aliases", .null),
                                            ("NetworkID", .string(networkID)),
                                            ("EndpointID", .string(ep == nil ? "" : r.id)),
                                            ("Gateway", .string(ep?.gateway ?? "")),
                                            ("IPAddress", .string(ep?.ipAddress ?? "")),
                                            ("IPPrefixLen", .int(ep?.prefixLength ?? 0)),
                                            ("IPv6Gateway", .string("")), ("GlobalIPv6Address", .string("")),
                                            ("GlobalIPv6PrefixLen", .int(0)),
                                            ("MacAddress", .string(ep?.macAddress ?? "")), ("DriverOpts", .null),
                                        ])
                                    )
                                ]) + connectedNetworksJSON(r))
                    ),
                ])
            ),
        ])
    }

    /// `GET /containers/json`: running ones, or all with `all`; Docker's filters.
    func list(all: Bool, limit: Int?, filters: [String: [String]]) throws(BerthError) -> JSONValue {
        for key in filters.keys
        where ![
            "id", "name", "label", "status", "ancestor", "exited", "before", "since", "network", "volume", "health",
            "is-task", "expose", "publish",
        ].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        var rows = self.all()
        if let statuses = filters["status"] {
            for s in statuses
            where !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(s) {
                throw .invalidArgument("invalid filter 'status=\(s)'")
            }
        }
        let showAll = all || filters["status"] != nil || filters["exited"] != nil
        rows = rows.filter { r in
            if !showAll, !r.isRunning { return false }
            if let ids = filters["id"], !ids.contains(where: { r.id.hasPrefix($0) }) { return false }
            if let names = filters["name"],
                !names.contains(where: { r.name.contains($0.hasPrefix("/") ? String($0.dropFirst()) : $0) })
            {
                return false
            }
            if let statuses = filters["status"], !statuses.contains(r.status.rawValue) { return false }
            if let codes = filters["exited"], !(r.status == .exited && codes.contains(String(r.exitCode))) {
                return false
            }
            if let labels = filters["label"] {
                for l in labels {
                    let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
                    guard let v = r.labels[kv[0]] else { return false }
                    if kv.count == 2, v != kv[1] { return false }
                }
            }
            if let ancestors = filters["ancestor"] {
                let image = r.config["Image"]?.stringValue ?? ""
                if !ancestors.contains(where: {
                    $0 == image || r.imageID.hasPrefix($0) || r.imageID.dropFirst(7).hasPrefix($0)
                        || (image + ":latest") == $0 || image == $0 + ":latest"
                }) {
                    return false
                }
            }
            if let wanted = filters["health"] {
                let status = health[r.id]?.status ?? "none"
                if !wanted.contains(status) { return false }
            }
            if let nets = filters["network"] {
                let joined =
                    (r.primaryDetached ? [] : [r.networkMode, findNetwork(r.networkMode)?.id ?? ""])
                    + r.connections.flatMap { c in [c.networkID, networkRecords[c.networkID]?.name ?? ""] }
                if !nets.contains(where: { n in
                    joined.contains { !$0.isEmpty && ($0 == n || $0.hasPrefix(n) && n.count >= 12) }
                }) {
                    return false
                }
            }
            return true
        }
        if let limit, limit > 0 { rows = Array(rows.prefix(limit)) }
        return .array(
            rows.map { r in
                .object([
                    ("Id", .string(r.id)),
                    ("Names", .strings(["/" + r.name])),
                    ("Image", .string(r.config["Image"]?.stringValue ?? r.imageID)),
                    ("ImageID", .string(r.imageID)),
                    (
                        "Command",
                        .string(([r.path] + r.args).map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " "))
                    ),
                    ("Created", .int(r.created / 1_000_000_000)),
                    ("Ports", Self.portsListJSON(r)),
                    ("Labels", .map(r.labels)),
                    ("State", .string(r.status.rawValue)),
                    ("Status", .string(Self.statusText(r, health: health[r.id]))),
                    ("HostConfig", .object([("NetworkMode", .string(r.networkMode))])),
                    (
                        "NetworkSettings",
                        .object([
                            (
                                "Networks",
                                .object(
                                    (r.primaryDetached
                                        ? []
                                        : [
                                            (
                                                r.networkMode,
                                                .object([
                                                    (
                                                        "NetworkID",
                                                        .string(findNetwork(r.networkMode)?.id ?? r.networkMode)
                                                    ),
                                                    ("IPAddress", .string(r.endpoint?.ipAddress ?? "")),
                                                ])
                                            )
                                        ])
                                        + r.connections.compactMap { c in
                                            networkRecords[c.networkID].map {
                                                (
                                                    $0.name,
                                                    .object([
                                                        ("NetworkID", .string($0.id)),
                                                        ("IPAddress", .string(c.endpoint?.ipAddress ?? "")),
                                                    ])
                                                )
                                            }
                                        })
                            )
                        ])
                    ),
                    ("Mounts", mountsJSON(r)),
                ])
            })
    }

    /// `Mounts` of inspect and list: the container's bind mounts, as Docker shows them.
    func mountsJSON(_ r: ContainerRecord) -> JSONValue {
        .array(
            r.mounts.map { m in
                switch m.type {
                case "bind":
                    return .object([
                        ("Type", .string("bind")), ("Source", .string(m.source)),
                        ("Destination", .string(m.destination)),
                        ("Mode", .string(m.mode)), ("RW", .bool(m.rw)),
                        ("Propagation", .string(m.propagation.isEmpty ? "rprivate" : m.propagation)),
                    ])
                case "volume":
                    return .object([
                        ("Type", .string("volume")), ("Name", .string(m.name)),
                        (
                            "Source",
                            .string(m.driver == "local" ? configuration.root + "/volumes/" + m.name + "/_data" : "")
                        ),
                        ("Destination", .string(m.destination)), ("Driver", .string(m.driver)),
                        ("Mode", .string(m.mode)), ("RW", .bool(m.rw)), ("Propagation", .string("")),
                    ])
                default:
                    return .object([
                        ("Type", .string("tmpfs")), ("Source", .string("")), ("Destination", .string(m.destination)),
                        ("Mode", .string("")), ("RW", .bool(m.rw)), ("Propagation", .string("")),
                    ])
                }
            })
    }

    /// `Up 2 seconds`, `Exited (0) 3 minutes ago`, `Created` — as `docker ps` shows.
    static func statusText(_ r: ContainerRecord, health: HealthState? = nil) -> String {
        let now = Clock.nowNanos()
        switch r.status {
        case .running:
            let up = "Up " + humanDuration(now - r.startedAt)
            switch health?.status {
            case "starting": return up + " (health: starting)"
            case let s?: return up + " (\(s))"
            case nil: return up
            }
        case .paused: return "Up " + humanDuration(now - r.startedAt) + " (Paused)"
        case .restarting: return "Restarting (\(r.exitCode)) " + humanDuration(now - r.finishedAt) + " ago"
        case .removing: return "Removal In Progress"
        case .dead: return "Dead"
        case .created:
            return r.hasRun || r.finishedAt > 0
                ? "Exited (\(r.exitCode)) " + humanDuration(now - r.finishedAt) + " ago" : "Created"
        case .exited: return "Exited (\(r.exitCode)) " + humanDuration(now - r.finishedAt) + " ago"
        }
    }

    /// Go's `units.HumanDuration` of a span in nanoseconds.
    static func humanDuration(_ nanos: Int64) -> String {
        TimeText.humanDuration(seconds: Double(nanos) / 1e9)
    }

    /// inspect's `Networks` entries for networks joined with `network connect`.
    func connectedNetworksJSON(_ r: ContainerRecord) -> [(String, JSONValue)] {
        r.connections.compactMap { c in
            guard let network = networkRecords[c.networkID] else { return nil }
            let e = c.endpoint
            return (
                network.name,
                .object([
                    ("IPAMConfig", .null), ("Links", .null),
                    ("Aliases", c.aliases.isEmpty ? .null : .strings(c.aliases)),
                    ("NetworkID", .string(network.id)), ("EndpointID", .string(e == nil ? "" : r.id)),
                    ("Gateway", .string(e?.gateway ?? "")), ("IPAddress", .string(e?.ipAddress ?? "")),
                    ("IPPrefixLen", .int(e?.prefixLength ?? 0)), ("IPv6Gateway", .string("")),
                    ("GlobalIPv6Address", .string("")), ("GlobalIPv6PrefixLen", .int(0)),
                    ("MacAddress", .string(e?.macAddress ?? "")), ("DriverOpts", .null),
                ])
            )
        }
    }
}
