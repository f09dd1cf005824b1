import BerthCore
import BerthImage
import BerthOS
import Glibc

extension ContainerService {
    /// `POST /containers/create`: validates, merges the image's config, prepares the writable layer and the
    /// per-container files, then records the container. Nothing is left behind on failure.
    func create(name requestedName: String?, body: JSONValue) async throws(BerthError) -> (String, [String]) {
        guard case .object = body else { throw .invalidArgument("invalid JSON: expected an object") }
        var config = body
        config["HostConfig"] = nil
        config["NetworkingConfig"] = nil
        var hostConfig = body["HostConfig"] ?? .object([])
        if hostConfig.isNull { hostConfig = .object([]) }

        let name = try validateName(requestedName)
        reservedNames.insert(name)
        defer { reservedNames.remove(name) }
        guard let imageRef = config["Image"]?.stringValue, !imageRef.isEmpty else {
            throw .invalidArgument("config cannot be empty in order to create a container")
        }
        let image = try await images.resolve(imageRef)
        try validate(hostConfig: &hostConfig)
        let id = Identifier.random()
        config = merge(config: config, image: image.containerConfig, id: id, hostConfig: hostConfig)
        let entrypoint = config["Entrypoint"]?.stringArray ?? []
        let cmd = config["Cmd"]?.stringArray ?? []
        let command = entrypoint + cmd
        guard let path = command.first else { throw .invalidArgument("No command specified") }

        var record = ContainerRecord(
            id: id, name: name, created: Clock.nowNanos(), path: path, args: Array(command.dropFirst()), config: config,
            hostConfig: hostConfig, imageID: image.id, driver: storage.name)
        let mode = hostConfig["NetworkMode"]?.stringValue ?? ""
        // The client keys it by the network it asked for ("default" for none named): one entry is that one.
        let endpoints = body["NetworkingConfig"]?["EndpointsConfig"]?.objectMembers ?? []
        let endpointConfig =
            body["NetworkingConfig"]?["EndpointsConfig"]?[mode] ?? (endpoints.count == 1 ? endpoints[0].1 : nil)
        record.aliases = endpointConfig?["Aliases"]?.stringArray ?? []
        try checkEndpointRequests(&record, endpointConfig: endpointConfig, body: body)
        _ = try Self.requestedPorts(record)  // a bad port spec fails the create, not a later start
        // The create hooks see the effective container before anything exists, and may change or refuse it.
        if hooks.handles(.create) {
            let outcome = await hooks.run(.create, hookObject(record, event: .create))
            if let error = outcome.error(.create) { throw error }
            if case .proceed(let changes) = outcome, !changes.isEmpty {
                try applyHookChanges(changes, to: &record)
            }
        }
        let dir = recordDir(id)
        let (mounts, madeVolumes) = try await resolveMounts(config: record.config, hostConfig: record.hostConfig)
        record.mounts = mounts
        do throws(BerthError) {
            try FileSystem.createDirectory(dir, mode: 0o710)
            _ = try await storage.prepare(id: id, parent: image.topLayer)
            // hostname, hosts and resolv.conf are written at each start, with the network's addresses.
            record.status = .created
            try save(record)
        } catch {
            try? await storage.remove(id: id)
            try? FileSystem.removeTree(dir)
            records[id] = nil
            for name in madeVolumes { try? await volumes.remove(name) }
            throw error
        }
        runtimes[id] = Runtime()
        emit("create", record)
        return (id, [])
    }

    func validateName(_ requested: String?) throws(BerthError) -> String {
        guard var name = requested, !name.isEmpty else {
            var candidate = NameGenerator.random()
            while records.values.contains(where: { $0.name == candidate }) || reservedNames.contains(candidate) {
                candidate = NameGenerator.random() + "\(Int.random(in: 0..<100))"
            }
            return candidate
        }
        if name.hasPrefix("/") { name.removeFirst() }
        guard Identifier.isValidName(name) else {
            throw .invalidArgument("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if reservedNames.contains(name) {
            throw .conflict("Conflict. The container name \"/\(name)\" is already in use by a container being created.")
        }
        if let other = records.values.first(where: { $0.name == name }) {
            throw .conflict(
                "Conflict. The container name \"/\(name)\" is already in use by container \"\(other.id)\". You have to remove (or rename) that container to be able to reuse that name."
            )
        }
        return name
    }

    /// The effective config: the request over the image's defaults, as Docker merges them.
    func merge(config: JSONValue, image: JSONValue, id: String, hostConfig: JSONValue) -> JSONValue {
        var c = config
        var env = image["Env"]?.stringArray ?? []
        for e in config["Env"]?.stringArray ?? [] {
            let key = e.split(separator: "=", maxSplits: 1).first.map(String.init) ?? e
            env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
            env.append(e)
        }
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
        }
        c["Env"] = .strings(env)
        let requestedEntrypoint = config["Entrypoint"].flatMap { $0.isNull ? nil : Self.stringOrArray($0) }
        let requestedCmd = config["Cmd"].flatMap { $0.isNull ? nil : Self.stringOrArray($0) }
        if let ep = requestedEntrypoint {
            // `--entrypoint ""` resets the image's entrypoint; an explicit entrypoint drops the image's Cmd.
            c["Entrypoint"] = ep == [""] ? .null : .strings(ep)
            c["Cmd"] = requestedCmd.map { .strings($0) } ?? .null
        } else {
            c["Entrypoint"] = image["Entrypoint"].flatMap { $0.isNull ? nil : $0 } ?? .null
            c["Cmd"] = requestedCmd.flatMap { $0.isEmpty ? nil : JSONValue.strings($0) } ?? image["Cmd"] ?? .null
        }
        for key in ["WorkingDir", "User", "StopSignal"] {
            if (config[key]?.stringValue ?? "").isEmpty, let v = image[key], !(v.stringValue ?? "").isEmpty {
                c[key] = v
            }
        }
        // HEALTHCHECK: the container's own fields win, each missing one comes from the image.
        if let imageCheck = image["Healthcheck"], !imageCheck.isNull {
            var check = config["Healthcheck"] ?? .null
            if check.isNull { check = .object([]) }
            for (k, v) in imageCheck.objectMembers
            where check[k] == nil || check[k]?.isNull == true
                || (k == "Test" && (check[k]?.arrayValue ?? []).isEmpty) || check[k]?.intValue == 0
            {
                check[k] = v
            }
            c["Healthcheck"] = check
        }
        var labels = image["Labels"]?.stringMap ?? [:]
        for (k, v) in config["Labels"]?.stringMap ?? [:] { labels[k] = v }
        c["Labels"] = .map(labels)
        for key in ["ExposedPorts", "Volumes"] {
            var merged = image[key] ?? .object([])
            if merged.isNull { merged = .object([]) }
            for (k, v) in config[key]?.objectMembers ?? [] { merged[k] = v }
            c[key] = merged.objectMembers.isEmpty ? .null : merged
        }
        let hostname = config["Hostname"]?.stringValue ?? ""
        if hostname.isEmpty {
            if sandboxMode(hostConfig["NetworkMode"]?.stringValue ?? "") == .host {
                var buf = [CChar](repeating: 0, count: 256)
                gethostname(&buf, 255)
                c["Hostname"] = .string(String(nulTerminated: buf))
            } else {
                c["Hostname"] = .string(String(id.prefix(12)))
            }
        }
        for key in ["Domainname", "User", "WorkingDir"] where c[key] == nil { c[key] = .string("") }
        for key in ["AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"] where c[key] == nil
        {
            c[key] = .bool(false)
        }
        c["OnBuild"] = c["OnBuild"] ?? .null
        return c
    }

    static func stringOrArray(_ v: JSONValue) -> [String]? {
        if let s = v.stringValue { return s.isEmpty ? [] : ["/bin/sh", "-c", s] }
        return v.stringArray
    }

    /// Checks limits and options and fills Docker's defaults into `hostConfig`.
    func validate(hostConfig h: inout JSONValue) throws(BerthError) {
        let memory = h["Memory"]?.int64Value ?? 0
        let swap = h["MemorySwap"]?.int64Value ?? 0
        if memory < 0 { throw .invalidArgument("invalid memory limit: \(memory)") }
        if memory > 0, memory < 6 * 1024 * 1024 { throw .invalidArgument("Minimum memory limit allowed is 6MB") }
        if swap > 0, memory == 0 {
            throw .invalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
        }
        if swap > 0, swap < memory {
            throw .invalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        let ncpu = Int64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let nano = h["NanoCpus"]?.int64Value ?? 0
        if nano < 0 || nano > ncpu * 1_000_000_000 {
            throw .invalidArgument("Range of CPUs is from 0.01 to \(ncpu).00, as there are only \(ncpu) CPUs available")
        }
        if nano > 0, (h["CpuQuota"]?.int64Value ?? 0) > 0 {
            throw .invalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        }
        if (h["CpuShares"]?.int64Value ?? 0) < 0 { throw .invalidArgument("invalid CPU shares: must be positive") }
        if let cpus = h["CpusetCpus"]?.stringValue, !cpus.isEmpty {
            guard let set = Self.parseCPUSet(cpus) else {
                throw .invalidArgument("Invalid value \(cpus) for cpuset cpus")
            }
            if let bad = set.first(where: { $0 >= ncpu }) {
                throw .invalidArgument(
                    "Requested CPUs are not available - requested \(cpus), available: 0-\(ncpu - 1) (cpu \(bad))")
            }
        }
        if let pids = h["PidsLimit"]?.int64Value, pids < -1 { throw .invalidArgument("invalid pids limit: \(pids)") }
        for cap in (h["CapAdd"]?.stringArray ?? []) + (h["CapDrop"]?.stringArray ?? []) {
            _ = try Capabilities.normalize(cap)
        }
        for opt in h["SecurityOpt"]?.stringArray ?? [] { _ = try SecurityOptions.parse(opt) }
        // Bind sources are checked now, as Docker does, so `create` fails rather than a later `start`.
        for bind in h["Binds"]?.stringArray ?? [] { _ = try Self.parseBindSpec(bind) }
        for m in h["Mounts"]?.arrayValue ?? [] { _ = try Self.parseMountSpec(m) }
        for u in h["Ulimits"]?.arrayValue ?? [] {
            guard let name = u["Name"]?.stringValue,
                [
                    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                    "rtprio", "rttime", "sigpending", "stack",
                ].contains(name)
            else {
                throw .invalidArgument("invalid ulimit type: \(u["Name"]?.stringValue ?? "")")
            }
            let soft = u["Soft"]?.int64Value ?? 0
            let hard = u["Hard"]?.int64Value ?? 0
            if soft > hard {
                throw .invalidArgument("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
            }
        }
        let mode = h["NetworkMode"]?.stringValue ?? ""
        switch mode {
        case "", "default":
            h["NetworkMode"] = .string(live.defaultNetwork)
        case _ where networks[mode] != nil: break
        case _ where findNetwork(mode) != nil: break
        default:
            if mode.hasPrefix("container:") {
                // 400, not 404: a client would take a 404 on create for a missing image and try to pull.
                do { _ = try lookup(String(mode.dropFirst(10))) } catch {
                    throw .invalidArgument("cannot join network of container \(mode.dropFirst(10)): \(error.message)")
                }
                if !(h["PortBindings"]?.objectMembers.isEmpty ?? true) || h["PublishAllPorts"]?.boolValue == true {
                    throw .invalidArgument("conflicting options: port publishing and the container type network mode")
                }
                if !(h["Links"]?.stringArray ?? []).isEmpty {
                    throw .invalidArgument("conflicting options: container type network can't be used with links")
                }
                break
            }
            throw .notFound("network \(mode) not found")
        }
        if let restart = h["RestartPolicy"]?["Name"]?.stringValue, !["", "no"].contains(restart) {
            if h["AutoRemove"]?.boolValue == true {
                throw .invalidArgument("can't create 'AutoRemove' container with restart policy")
            }
        }
        let logType = h["LogConfig"]?["Type"]?.stringValue ?? ""
        if !["", "json-file"].contains(logType) {
            throw .invalidArgument("logging driver \(logType) is not supported")
        }
        let logOptions = h["LogConfig"]?["Config"]?.stringMap ?? [:]
        _ = try Self.logRotation(logOptions)
        h["LogConfig"] = .object([("Type", .string("json-file")), ("Config", h["LogConfig"]?["Config"] ?? .object([]))])
    }

    /// json-file's `max-size` and `max-file` log options (Docker's validation and messages).
    static func logRotation(_ options: [String: String]) throws(BerthError) -> (maxSize: Int64, maxFiles: Int) {
        for key in options.keys where !["max-size", "max-file", "compress", "labels", "env", "tag"].contains(key) {
            throw .invalidArgument("unknown log opt '\(key)' for json-file log driver")
        }
        var maxSize: Int64 = 0
        if let text = options["max-size"] {
            guard let size = try? ByteSize.parse(text), size > 0 else {
                throw .invalidArgument("invalid value for log-opt max-size: \(text)")
            }
            maxSize = size
        }
        var maxFiles = 1
        if let text = options["max-file"] {
            guard let n = Int(text), n >= 1 else {
                throw .invalidArgument("max-file cannot be less than 1")
            }
            if maxSize == 0 { throw .invalidArgument("max-file cannot be set when max-size is not set") }
            maxFiles = n
        }
        return (maxSize, maxFiles)
    }

    /// `0-2,4` → [0,1,2,4]; nil when malformed.
    static func parseCPUSet(_ text: String) -> [Int64]? {
        var out: [Int64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let range = part.split(separator: "-", omittingEmptySubsequences: false)
            if range.count == 1, let n = Int64(range[0]), n >= 0 {
                out.append(n)
            } else if range.count == 2, let a = Int64(range[0]), let b = Int64(range[1]), a >= 0, a <= b {
                out.append(contentsOf: a...b)
            } else {
                return nil
            }
        }
        return out
    }

    /// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` for the container, bind-mounted by the shim.
    /// hostname, hosts and resolv.conf; `address` is the container's own address on its network (hosts maps
    /// the hostname to it, as Docker's does), else 127.0.1.1.
    func writeEtcFiles(
        _ record: ContainerRecord, address: String? = nil, nameserver: String? = nil, links: [String] = []
    ) throws(BerthError) {
        let dir = recordDir(record.id)
        let hostname = record.config["Hostname"]?.stringValue ?? record.shortID
        let host = sandboxMode(record.networkMode) == .host
        try FileSystem.writeFileAtomic(dir + "/hostname", hostname + "\n", durable: false)
        var hosts: String
        if host, let text = try? FileSystem.readText("/etc/hosts") {
            hosts = text
        } else {
            hosts =
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
            hosts += "\(address ?? "127.0.1.1")\t\(hostname)\n"
        }
        for line in links { hosts += line + "\n" }
        for extra in record.hostConfig["ExtraHosts"]?.stringArray ?? [] {
            let parts = extra.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { hosts += "\(parts[1])\t\(parts[0])\n" }
        }
        try FileSystem.writeFileAtomic(dir + "/hosts", hosts, durable: false)
        // On a user network the network's own resolver answers (names of its containers, then upstream).
        let dns = record.hostConfig["Dns"]?.stringArray ?? []
        let resolv = Self.resolvConf(
            host: host, dns: dns.isEmpty ? nameserver.map { [$0] } ?? [] : dns,
            search: record.hostConfig["DnsSearch"]?.stringArray ?? [])
        try FileSystem.writeFileAtomic(dir + "/resolv.conf", resolv, durable: false)
    }

    /// The host's resolv.conf without loopback nameservers (unreachable from a container's own namespace),
    /// or Docker's public fallbacks when none remain.
    static func resolvConf(host: Bool, dns: [String], search: [String]) -> String {
        let text = (try? FileSystem.readText("/etc/resolv.conf")) ?? ""
        if host, dns.isEmpty, search.isEmpty { return text }
        var lines: [String] = []
        var servers: [String] = dns
        for line in text.split(separator: "\n").map(String.init) {
            let trimmed = line.trimmingSpaces
            if trimmed.hasPrefix("nameserver") {
                let addr = trimmed.dropFirst("nameserver".count).trimmingSpaces
                if dns.isEmpty, !addr.hasPrefix("127."), addr != "::1" { servers.append(String(addr)) }
            } else if trimmed.hasPrefix("search") || trimmed.hasPrefix("domain") {
                if search.isEmpty { lines.append(trimmed) }
            } else if !trimmed.isEmpty, !trimmed.hasPrefix("#") {
                lines.append(trimmed)
            }
        }
        if servers.isEmpty { servers = ["8.8.8.8", "8.8.4.4"] }
        var out = ""
        if !search.isEmpty { out += "search \(search.joined(separator: " "))\n" }
        for l in lines { out += l + "\n" }
        for s in servers { out += "nameserver \(s)\n" }
        return out
    }

    /// `--ip`, `--mac-address` and `--link`: checked now, applied at start.
    func checkEndpointRequests(_ record: inout ContainerRecord, endpointConfig: JSONValue?, body: JSONValue)
        throws(BerthError)
    {
        let mode = record.hostConfig["NetworkMode"]?.stringValue ?? ""
        if let ip = endpointConfig?["IPAMConfig"]?["IPv4Address"]?.stringValue, !ip.isEmpty {
            guard let address = IPv4Address(ip) else { throw .invalidArgument("invalid IPv4 address: \(ip)") }
            guard mode != "bridge", let network = findNetwork(mode) else {
                throw .invalidArgument("user specified IP address is supported on user defined networks only")
            }
            if let subnet = network.options["subnet"].flatMap({ IPv4Subnet($0) }), !subnet.contains(address) {
                throw .invalidArgument("no configured subnet contains IP address \(ip)")
            }
            record.requestedIP = ip
        }
        let mac = endpointConfig?["MacAddress"]?.stringValue ?? body["MacAddress"]?.stringValue ?? ""
        if !mac.isEmpty {
            let parts = mac.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
                throw .invalidArgument("invalid MAC address: \(mac)")
            }
            guard mode != "none", mode != "host" else {
                throw .invalidArgument("conflicting options: mac-address and the network mode")
            }
            record.requestedMAC = mac.lowercased()
        }
        for link in record.hostConfig["Links"]?.stringArray ?? [] {
            let name = String(link.split(separator: ":", maxSplits: 1).first ?? "")
            do { _ = try lookup(name.hasPrefix("/") ? String(name.dropFirst()) : name) } catch {
                throw .invalidArgument("could not get container for \(name): \(error.message)")
            }
        }
    }

    /// `/etc/hosts` lines for `--link name:alias`: the linked containers must run.
    func linkHosts(_ record: ContainerRecord) throws(BerthError) -> [String] {
        var lines: [String] = []
        for link in record.hostConfig["Links"]?.stringArray ?? [] {
            let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts[0].hasPrefix("/") ? String(parts[0].dropFirst()) : parts[0]
            var alias = parts.count == 2 ? parts[1] : name
            if let slash = alias.lastIndex(of: "/") { alias = String(alias[alias.index(after: slash)...]) }
            let target = try lookup(name)
            guard target.isRunning, let ip = target.endpoint?.ipAddress else {
                throw .conflict("Cannot link to a non running container: /\(target.name) AS /\(record.name)/\(alias)")
            }
            lines.append(
                alias == target.name
                    ? "\(ip)\t\(alias) \(target.shortID)" : "\(ip)\t\(alias) \(target.shortID) \(target.name)")
        }
        return lines
    }
}
