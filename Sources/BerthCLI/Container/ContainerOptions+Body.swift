import BerthCore

/// What `POST /containers/create` is sent: the image, the query and the body.
struct CreateRequest {
    var image: String
    var query: [(String, String)]
    var body: JSONValue
}

extension ContainerOptions {
    /// Builds the create request exactly as the docker CLI does (engine-api.md §1.5; field order and the zero
    /// values it always sends included), so berthd sees the same body from either client.
    ///
    /// - Parameters:
    ///   - command: `run` or `create`, for the usage text of flag errors.
    ///   - detach: `run -d`: nothing is attached and stdin is not closed after one attach.
    ///   - lookupEnv: resolves `-e NAME` and env-file `NAME` lines without a value.
    ///   - readFile: reads `--env-file` files and `--security-opt seccomp=PATH` profiles.
    func createRequest(
        command: String, detach: Bool = false, lookupEnv: (String) -> String? = FileInput.environment,
        readFile: (String) throws(CLIError) -> [UInt8] = FileInput.read
    ) throws(CLIError) -> CreateRequest {
        let usage = "berth \(command) [OPTIONS] IMAGE [COMMAND] [ARG...]"
        func flagError(_ value: String, _ flag: String, _ reason: String) -> CLIError {
            CLIError.invalidFlag(value, flag, reason).asUsage(of: command, usage)
        }
        func runError(_ message: String) -> CLIError { CLIError(message).withHelp(command) }

        guard let image = imageAndCommand.first else {
            throw CLIError("'berth \(command)' requires at least 1 argument").asUsage(of: command, usage)
        }
        if image.hasPrefix("-") { throw CLIError("unknown flag: \(image)").asUsage(of: command, usage) }
        let cmd = Array(imageAndCommand.dropFirst())

        guard ["missing", "always", "never"].contains(pull) else {
            throw runError("invalid pull option: '\(pull)': must be one of \"always\", \"missing\" or \"never\"")
        }

        // Attach: -a picks streams; without it stdout and stderr are attached; -i attaches stdin.
        var attachStdin = false
        var attachStdout = attach.isEmpty
        var attachStderr = attach.isEmpty
        for stream in attach {
            switch stream.lowercased() {
            case "stdin": attachStdin = true
            case "stdout": attachStdout = true
            case "stderr": attachStderr = true
            default: throw flagError(stream, "-a, --attach", "valid streams are STDIN, STDOUT and STDERR")
            }
        }
        if interactive { attachStdin = true }
        var stdinOnce = interactive && attachStdin
        if detach {
            attachStdin = false
            attachStdout = false
            attachStderr = false
            stdinOnce = false
        }

        let environment = try Self.environment(
            envFiles: envFile, env: env, lookupEnv: lookupEnv, readFile: readFile, fileError: runError,
            flagError: { flagError($0, "-e, --env", "invalid environment variable: \($0)") })

        var labels: [String: String] = [:]
        for l in label {
            let parts = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts[0].trimmingSpaces.isEmpty { throw flagError(l, "-l, --label", "invalid label '\(l)': empty name") }
            labels[parts[0]] = parts.count > 1 ? parts[1] : ""
        }

        var memoryBytes: Int64 = 0
        if let memory {
            do { memoryBytes = try ByteSize.parse(memory) } catch {
                throw flagError(memory, "-m, --memory", error.message)
            }
        }
        var swapBytes: Int64 = 0
        if let memorySwap {
            if memorySwap == "-1" {
                swapBytes = -1
            } else {
                do { swapBytes = try ByteSize.parse(memorySwap) } catch {
                    throw flagError(memorySwap, "--memory-swap", error.message)
                }
            }
        }
        var nanoCpus: Int64 = 0
        if let cpus {
            do { nanoCpus = try Self.parseNanoCPUs(cpus) } catch { throw flagError(cpus, "--cpus", error.message) }
        }
        var ulimits: [JSONValue] = []
        for u in ulimit {
            do { ulimits.append(try Self.parseUlimit(u)) } catch { throw flagError(u, "--ulimit", error.message) }
        }
        let securityOpts: [String]
        let restartPolicy: JSONValue
        do {
            securityOpts = try Self.securityOptions(securityOpt, readFile: readFile)
            restartPolicy = try Self.restartPolicy(restart)
        } catch {
            throw runError(error.message)
        }
        if autoRemove, restartPolicy["Name"]?.stringValue != "no" {
            throw runError("Conflicting options: --restart and --rm")
        }

        // -v: host paths and volume names go to Binds, a container path alone is an anonymous volume.
        var binds: [String] = []
        var anonymousVolumes: [String] = []
        for v in volume {
            let parts = v.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 1, v.hasPrefix("/") {
                anonymousVolumes.append(v)
            } else if parts.count >= 2, parts.count <= 3, !parts[0].isEmpty, parts[1].hasPrefix("/") {
                binds.append(v)
            } else {
                throw flagError(v, "-v, --volume", "invalid volume specification: '\(v)'")
            }
        }
        var logOptions: [String: String] = [:]
        for o in logOpt {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else {
                throw flagError(o, "--log-opt", "invalid key value pair format in driver options")
            }
            logOptions[kv[0]] = kv[1]
        }
        var mounts: [JSONValue] = []
        for m in mount {
            do { mounts.append(try Self.parseMount(m)) } catch { throw flagError(m, "--mount", error.message) }
        }
        var tmpfsMounts: [(String, JSONValue)] = []
        for t in tmpfs {
            let parts = t.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts[0].hasPrefix("/") else { throw flagError(t, "--tmpfs", "invalid tmpfs mount: \(t)") }
            tmpfsMounts.append((parts[0], .string(parts.count > 1 ? parts[1] : "")))
        }

        var config: JSONValue = .object([
            ("Hostname", .string(hostname)),
            ("Domainname", .string("")),
            ("User", .string(user ?? "")),
            ("AttachStdin", .bool(attachStdin)),
            ("AttachStdout", .bool(attachStdout)),
            ("AttachStderr", .bool(attachStderr)),
            ("Tty", .bool(tty)),
            ("OpenStdin", .bool(interactive)),
            ("StdinOnce", .bool(stdinOnce)),
            ("Env", environment.isEmpty ? .null : .strings(environment)),
            ("Cmd", cmd.isEmpty ? .null : .strings(cmd)),
            ("Image", .string(image)),
            ("Volumes", .object(anonymousVolumes.map { ($0, .object([])) })),
            ("WorkingDir", .string(workdir ?? "")),
            ("Entrypoint", entrypoint.map { .strings([$0]) } ?? .null),
            ("OnBuild", .null),
            ("Labels", .map(labels)),
        ])
        if let stopSignal, !stopSignal.isEmpty { config["StopSignal"] = .string(stopSignal) }
        // Health check flags, as the docker CLI sends them (durations in nanoseconds).
        let healthFlags =
            healthCmd != nil || healthInterval != nil || healthRetries != nil || healthTimeout != nil
            || healthStartPeriod != nil
        if noHealthcheck {
            if healthFlags { throw runError("--no-healthcheck conflicts with --health-* options") }
            config["Healthcheck"] = .object([("Test", .strings(["NONE"]))])
        } else if healthFlags {
            func nanos(_ value: String?, _ flag: String) throws(CLIError) -> Int64 {
                guard let value else { return 0 }
                guard let seconds = TimeFormat.parseDuration(value), seconds >= 0 else {
                    throw flagError(value, flag, "time: invalid duration \"\(value)\"")
                }
                return Int64(seconds * 1e9)
            }
            var check: JSONValue = .object([])
            if let healthCmd { check["Test"] = .strings(["CMD-SHELL", healthCmd]) }
            check["Interval"] = .int(try nanos(healthInterval, "--health-interval"))
            check["Timeout"] = .int(try nanos(healthTimeout, "--health-timeout"))
            check["StartPeriod"] = .int(try nanos(healthStartPeriod, "--health-start-period"))
            if let healthRetries {
                guard healthRetries >= 0 else { throw runError("--health-retries cannot be negative") }
                check["Retries"] = .int(healthRetries)
            }
            config["Healthcheck"] = check
        }
        if let stopTimeout { config["StopTimeout"] = .int(stopTimeout) }

        // -p and --expose, as the docker CLI's nat.ParsePortSpecs: [ip:][hostPort:]containerPort[/proto],
        // ranges of equal length expanded.
        var exposed: [(String, JSONValue)] = []
        var bindings: [(String, JSONValue)] = []
        for spec in publish {
            do {
                for (key, ip, hostPort) in try Self.parsePublish(spec) {
                    if !exposed.contains(where: { $0.0 == key }) { exposed.append((key, .object([]))) }
                    let binding: JSONValue = .object([("HostIp", .string(ip)), ("HostPort", .string(hostPort))])
                    if let i = bindings.firstIndex(where: { $0.0 == key }) {
                        bindings[i].1 = .array((bindings[i].1.arrayValue ?? []) + [binding])
                    } else {
                        bindings.append((key, .array([binding])))
                    }
                }
            } catch { throw flagError(spec, "-p, --publish", error.message) }
        }
        for spec in expose {
            do {
                for (key, _, _) in try Self.parsePublish(spec) where !exposed.contains(where: { $0.0 == key }) {
                    exposed.append((key, .object([])))
                }
            } catch { throw flagError(spec, "--expose", error.message) }
        }
        if !exposed.isEmpty { config["ExposedPorts"] = .object(exposed) }
        if let macAddress, !macAddress.isEmpty { config["MacAddress"] = .string(macAddress) }

        let networkMode = network ?? "default"
        config["HostConfig"] = Self.hostConfig([
            ("NetworkMode", .string(networkMode)),
            ("RestartPolicy", restartPolicy),
            ("AutoRemove", .bool(autoRemove)),
            ("CapAdd", capAdd.isEmpty ? .null : .strings(Self.normalizeCapabilities(capAdd))),
            ("CapDrop", capDrop.isEmpty ? .null : .strings(Self.normalizeCapabilities(capDrop))),
            ("Privileged", .bool(privileged)),
            ("ReadonlyRootfs", .bool(readOnly)),
            ("SecurityOpt", securityOpts.isEmpty ? .null : .strings(securityOpts)),
            ("CpuShares", .int(cpuShares)),
            ("Memory", .int(memoryBytes)),
            ("NanoCpus", .int(nanoCpus)),
            ("CpusetCpus", .string(cpusetCpus)),
            ("MemorySwap", .int(swapBytes)),
            ("MemorySwappiness", .int(memorySwappiness)),
            ("PidsLimit", .int(pidsLimit)),
            ("Ulimits", .array(ulimits)),
            ("PortBindings", .object(bindings)),
            ("PublishAllPorts", .bool(publishAll)),
            ("Links", links.isEmpty ? .null : .strings(links)),
            ("Dns", .strings(dns)),
            ("DnsSearch", .strings(dnsSearch)),
            ("ExtraHosts", addHosts.isEmpty ? .null : .strings(addHosts.map { $0.replacingFirstEquals() })),
            ("Binds", binds.isEmpty ? .null : .strings(binds)),
            ("VolumeDriver", .string(volumeDriver)),
            ("VolumesFrom", volumesFrom.isEmpty ? .null : .strings(volumesFrom)),
            ("LogConfig", .object([("Type", .string(logDriver)), ("Config", .map(logOptions))])),
        ])
        if !mounts.isEmpty { config["HostConfig"]?["Mounts"] = .array(mounts) }
        if !tmpfsMounts.isEmpty { config["HostConfig"]?["Tmpfs"] = .object(tmpfsMounts) }
        var endpoint = Self.emptyEndpoint
        if let ip, !ip.isEmpty { endpoint["IPAMConfig"] = .object([("IPv4Address", .string(ip))]) }
        if !networkAliases.isEmpty { endpoint["Aliases"] = .strings(networkAliases) }
        if let macAddress, !macAddress.isEmpty { endpoint["MacAddress"] = .string(macAddress) }
        let customized = ip != nil || !networkAliases.isEmpty || macAddress != nil
        config["NetworkingConfig"] = .object([
            (
                "EndpointsConfig",
                network == nil || customized ? .object([(network ?? "default", endpoint)]) : .object([])
            )
        ])

        var query: [(String, String)] = []
        if let name, !name.isEmpty { query.append(("name", name)) }
        if let platform, !platform.isEmpty { query.append(("platform", platform)) }
        return CreateRequest(image: image, query: query, body: config)
    }

    /// The full `HostConfig` with the docker CLI's zero values, `values` put in their places.
    static func hostConfig(_ values: [(String, JSONValue)]) -> JSONValue {
        var h: JSONValue = .object([
            ("Binds", .null), ("ContainerIDFile", .string("")),
            ("LogConfig", .object([("Type", .string("")), ("Config", .object([]))])),
            ("NetworkMode", .string("default")), ("PortBindings", .object([])),
            ("RestartPolicy", .object([("Name", .string("no")), ("MaximumRetryCount", .int(0))])),
            ("AutoRemove", .bool(false)), ("VolumeDriver", .string("")), ("VolumesFrom", .null),
            ("ConsoleSize", .array([.int(0), .int(0)])), ("CapAdd", .null), ("CapDrop", .null),
            ("CgroupnsMode", .string("")), ("Dns", .array([])), ("DnsOptions", .array([])), ("DnsSearch", .array([])),
            ("ExtraHosts", .null), ("GroupAdd", .null), ("IpcMode", .string("")), ("Cgroup", .string("")),
            ("Links", .null), ("OomScoreAdj", .int(0)), ("PidMode", .string("")), ("Privileged", .bool(false)),
            ("PublishAllPorts", .bool(false)), ("ReadonlyRootfs", .bool(false)), ("SecurityOpt", .null),
            ("UTSMode", .string("")), ("UsernsMode", .string("")), ("ShmSize", .int(0)), ("Isolation", .string("")),
            ("CpuShares", .int(0)), ("Memory", .int(0)), ("NanoCpus", .int(0)), ("CgroupParent", .string("")),
            ("BlkioWeight", .int(0)), ("BlkioWeightDevice", .array([])), ("BlkioDeviceReadBps", .array([])),
            ("BlkioDeviceWriteBps", .array([])), ("BlkioDeviceReadIOps", .array([])),
            ("BlkioDeviceWriteIOps", .array([])), ("CpuPeriod", .int(0)), ("CpuQuota", .int(0)),
            ("CpuRealtimePeriod", .int(0)), ("CpuRealtimeRuntime", .int(0)), ("CpusetCpus", .string("")),
            ("CpusetMems", .string("")), ("Devices", .array([])), ("DeviceCgroupRules", .null),
            ("DeviceRequests", .null), ("MemoryReservation", .int(0)), ("MemorySwap", .int(0)),
            ("MemorySwappiness", .int(-1)), ("OomKillDisable", .bool(false)), ("PidsLimit", .int(0)),
            ("Ulimits", .array([])), ("CpuCount", .int(0)), ("CpuPercent", .int(0)), ("IOMaximumIOps", .int(0)),
            ("IOMaximumBandwidth", .int(0)), ("MaskedPaths", .null), ("ReadonlyPaths", .null),
        ])
        for (key, value) in values { h[key] = value }
        return h
    }

    /// The endpoint the docker CLI sends for the default network (API 1.44).
    static let emptyEndpoint: JSONValue = .object([
        ("IPAMConfig", .null), ("Links", .null), ("Aliases", .null), ("MacAddress", .string("")),
        ("DriverOpts", .null), ("GwPriority", .int(0)), ("NetworkID", .string("")), ("EndpointID", .string("")),
        ("Gateway", .string("")), ("IPAddress", .string("")), ("IPPrefixLen", .int(0)), ("IPv6Gateway", .string("")),
        ("GlobalIPv6Address", .string("")), ("GlobalIPv6PrefixLen", .int(0)), ("DNSNames", .null),
    ])

    /// One -p/--expose spec: (port key "80/tcp", host IP, host port) per container port.
    static func parsePublish(_ spec: String) throws(CLIError) -> [(String, String, String)] {
        var rest = spec
        var proto = "tcp"
        if let slash = rest.lastIndex(of: "/") {
            proto = String(rest[rest.index(after: slash)...]).lowercased()
            rest = String(rest[..<slash])
            guard ["tcp", "udp", "sctp"].contains(proto) else { throw CLIError("invalid proto: \(proto)") }
        }
        var parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var ip = ""
        if parts.count == 3 {
            ip = parts.removeFirst()
        } else if parts.count > 3 {
            throw CLIError("invalid port format")
        }
        let containerText = parts.removeLast()
        let hostText = parts.first ?? ""
        func range(_ text: String) throws(CLIError) -> ClosedRange<Int> {
            let ends = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(ends.count), let lo = ends[0], let hi = ends.last ?? nil, 1 <= lo, lo <= hi,
                hi <= 65535
            else {
                throw CLIError("invalid containerPort: \(text)")
            }
            return lo...hi
        }
        let container = try range(containerText)
        var host: ClosedRange<Int>?
        if !hostText.isEmpty {
            host = try range(hostText)
            if let h = host, h.count != container.count, h.count != 1 {
                throw CLIError(
                    "invalid ranges specified for container and host Ports: \(containerText) and \(hostText)")
            }
        }
        return container.enumerated().map { i, port in
            var hostPort = ""
            if let h = host { hostPort = h.count == 1 ? String(h.lowerBound) : String(h.lowerBound + i) }
            return ("\(port)/\(proto)", ip, hostPort)
        }
    }

    /// One `--mount` (`type=bind|volume|tmpfs,source=…,target=…,readonly,…`) as the docker CLI sends it in
    /// `HostConfig.Mounts`.
    static func parseMount(_ text: String) throws(CLIError) -> JSONValue {
        var m: JSONValue = .object([("Type", .string("volume"))])
        var volumeOptions: JSONValue = .object([])
        var driverOptions: [String: String] = [:]
        var tmpfsOptions: JSONValue = .object([])
        for field in text.split(separator: ",").map(String.init) {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].lowercased()
            let value = kv.count > 1 ? kv[1] : nil
            func bool() throws(CLIError) -> Bool {
                guard let value else { return true }
                switch value.lowercased() {
                case "1", "true": return true
                case "0", "false": return false
                default: throw CLIError("invalid value for \(key): \(value)")
                }
            }
            switch key {
            case "type":
                guard let value, ["bind", "volume", "tmpfs"].contains(value) else {
                    throw CLIError("invalid mount type \"\(value ?? "")\"")
                }
                m["Type"] = .string(value)
            case "source", "src": m["Source"] = .string(value ?? "")
            case "target", "dst", "destination": m["Target"] = .string(value ?? "")
            case "readonly", "ro": m["ReadOnly"] = .bool(try bool())
            case "bind-propagation": m["BindOptions"] = .object([("Propagation", .string(value ?? ""))])
            case "volume-nocopy": volumeOptions["NoCopy"] = .bool(try bool())
            case "volume-driver": volumeOptions["DriverConfig"] = .object([("Name", .string(value ?? ""))])
            case "volume-opt":
                let o = (value ?? "").split(separator: "=", maxSplits: 1).map(String.init)
                guard o.count == 2 else { throw CLIError("invalid volume-opt: \(value ?? "")") }
                driverOptions[o[0]] = o[1]
            case "tmpfs-size":
                guard let value, let size = try? ByteSize.parse(value) else {
                    throw CLIError("invalid tmpfs-size: \(value ?? "")")
                }
                tmpfsOptions["SizeBytes"] = .int(size)
            case "tmpfs-mode":
                guard let value, let mode = Int(value, radix: 8) else {
                    throw CLIError("invalid tmpfs-mode: \(value ?? "")")
                }
                tmpfsOptions["Mode"] = .int(mode)
            default: throw CLIError("unexpected key '\(key)' in '\(field)'")
            }
        }
        guard m["Target"]?.stringValue?.isEmpty == false else { throw CLIError("target is required") }
        if !driverOptions.isEmpty {
            var driver = volumeOptions["DriverConfig"] ?? .object([("Name", .string(""))])
            driver["Options"] = .map(driverOptions)
            volumeOptions["DriverConfig"] = driver
        }
        if !volumeOptions.objectMembers.isEmpty { m["VolumeOptions"] = volumeOptions }
        if !tmpfsOptions.objectMembers.isEmpty { m["TmpfsOptions"] = tmpfsOptions }
        return m
    }

    /// The environment from `--env-file` files, then `-e` (docker CLI order); `NAME` alone takes the value from
    /// berth's own environment, or stays as it is (unset in the container) when berth has none.
    static func environment(
        envFiles: [String], env: [String], lookupEnv: (String) -> String?,
        readFile: (String) throws(CLIError) -> [UInt8], fileError: (String) -> CLIError,
        flagError: (String) -> CLIError
    ) throws(CLIError) -> [String] {
        var environment: [String] = []
        for path in envFiles {
            let bytes: [UInt8]
            do { bytes = try readFile(path) } catch { throw fileError(error.message) }
            do { environment += try Self.parseEnvFile(bytes, lookupEnv: lookupEnv) } catch {
                throw fileError("invalid env file (\(path)): \(error.message)")
            }
        }
        for e in env {
            let key =
                e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if key.isEmpty { throw flagError(e) }
            if e.contains("=") {
                environment.append(e)
            } else if let value = lookupEnv(e) {
                environment.append("\(e)=\(value)")
            } else {
                environment.append(e)
            }
        }
        return environment
    }
}

extension String {
    /// "host=ip" (newer docker CLI spelling) as "host:ip".
    fileprivate func replacingFirstEquals() -> String {
        guard !contains(":"), let eq = firstIndex(of: "=") else { return self }
        return String(self[..<eq]) + ":" + String(self[index(after: eq)...])
    }
}
