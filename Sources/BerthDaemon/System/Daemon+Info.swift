import BerthAPI
import BerthCore
import BerthOS
import CBerthLinux
import Glibc

extension Daemon {
    static func uname() -> (release: String, machine: String) {
        var u = utsname()
        Glibc.uname(&u)
        let release = withUnsafePointer(to: &u.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
        let machine = withUnsafePointer(to: &u.machine) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
        return (release, machine)
    }

    static func osName() -> String {
        let text = (try? FileSystem.readText("/etc/os-release")) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst(12)).trimmingCharacters(in: "\"")
        }
        return "Linux"
    }

    func versionJSON() -> JSONValue {
        let (release, _) = Self.uname()
        let details: JSONValue = .object([
            ("ApiVersion", .string(APIVersion.maximum.description)),
            ("MinAPIVersion", .string(APIVersion.minimum.description)),
            ("GitCommit", .string("berth")), ("GoVersion", .string("swift6")), ("Os", .string("linux")),
            ("Arch", .string("amd64")),
            ("KernelVersion", .string(release)), ("BuildTime", .string("")), ("Experimental", .string("false")),
        ])
        return .object([
            ("Platform", .object([("Name", .string("Berth Engine"))])),
            (
                "Components",
                .array([
                    .object([
                        ("Name", .string("Engine")), ("Version", .string(configuration.version)), ("Details", details),
                    ])
                ])
            ),
            ("Version", .string(configuration.version)), ("ApiVersion", .string(APIVersion.maximum.description)),
            ("MinAPIVersion", .string(APIVersion.minimum.description)), ("GitCommit", .string("berth")),
            ("GoVersion", .string("swift6")), ("Os", .string("linux")), ("Arch", .string("amd64")),
            ("KernelVersion", .string(release)), ("BuildTime", .string("")),
        ])
    }

    func infoJSON() async -> JSONValue {
        let all = await containers.all()
        let running = all.filter { $0.status == .running }.count
        let paused = all.filter { $0.status == .paused }.count
        let imageCount = await images.store.all().count
        let (release, machine) = Self.uname()
        let ncpu = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let mem = Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
        var hostname = [CChar](repeating: 0, count: 256)
        gethostname(&hostname, 255)
        let cgroupVersion = berthStatfsIsCgroup2() ? "2" : "1"
        let driverStatus: JSONValue = .array(await storage.info().map { .strings([$0.0, $0.1]) })
        var o: JSONValue = .object([])
        o["ID"] = .string(String(configuration.root.hashValue.magnitude))
        o["Containers"] = .int(all.count)
        o["ContainersRunning"] = .int(running)
        o["ContainersPaused"] = .int(paused)
        o["ContainersStopped"] = .int(all.count - running - paused)
        o["Images"] = .int(imageCount)
        o["Driver"] = .string(storage.name)
        o["DriverStatus"] = driverStatus
        let volumePlugins = await plugins.activeNames(implementing: "VolumeDriver")
        let networkPlugins = await plugins.activeNames(implementing: "NetworkDriver")
        o["Plugins"] = .object([
            ("Volume", .strings(["local"] + volumePlugins)),
            ("Network", .strings(networks.keys.sorted() + networkPlugins)), ("Authorization", .null),
            ("Log", .strings(["json-file"])),
        ])
        o["MemoryLimit"] = .bool(true)
        o["SwapLimit"] = .bool(true)
        o["CpuCfsPeriod"] = .bool(true)
        o["CpuCfsQuota"] = .bool(true)
        o["CPUShares"] = .bool(true)
        o["CPUSet"] = .bool(true)
        o["PidsLimit"] = .bool(true)
        o["IPv4Forwarding"] = .bool(((try? FileSystem.readText("/proc/sys/net/ipv4/ip_forward")) ?? "0").hasPrefix("1"))
        o["Debug"] = .bool(live.engine.logLevel == "debug")
        o["NFd"] = .int(((try? FileSystem.list("/proc/self/fd")) ?? []).count)
        o["NGoroutines"] = .int(0)
        o["SystemTime"] = .string(Clock.rfc3339Nano(Clock.nowNanos()))
        o["LoggingDriver"] = .string("json-file")
        o["CgroupDriver"] = .string("cgroupfs")
        o["CgroupVersion"] = .string(cgroupVersion)
        o["NEventsListener"] = .int(events.subscriberCount)
        o["KernelVersion"] = .string(release)
        o["OperatingSystem"] = .string(Self.osName())
        o["OSVersion"] = .string("")
        o["OSType"] = .string("linux")
        o["Architecture"] = .string(machine)
        o["IndexServerAddress"] = .string("https://index.docker.io/v1/")
        o["RegistryConfig"] = .object([
            ("IndexConfigs", .object([])), ("InsecureRegistryCIDRs", .strings(["127.0.0.0/8"])),
            ("Mirrors", .array([])),
        ])
        o["NCPU"] = .int(ncpu)
        o["MemTotal"] = .int(mem)
        o["DockerRootDir"] = .string(configuration.root)
        o["HttpProxy"] = .string("")
        o["HttpsProxy"] = .string("")
        o["NoProxy"] = .string("")
        o["Name"] = .string(String(nulTerminated: hostname))
        let engine = live.engine
        let scripts = hooks.scripts
        // docker info shows engine labels: the configuration that is Berth's own is listed there too.
        o["Labels"] = .strings([
            "berth.config-file=\(configuration.configFile ?? "(built-in defaults)")",
            "berth.default-network=\(engine.network.defaultNetwork)",
            "berth.hooks=\(scripts.isEmpty ? "(none)" : scripts.map(\.name).joined(separator: ","))",
        ])
        o["ExperimentalBuild"] = .bool(false)
        o["ServerVersion"] = .string(configuration.version)
        o["Runtimes"] = .object([("berth-shim", .object([("path", .string(configuration.shimPath))]))])
        o["DefaultRuntime"] = .string("berth-shim")
        o["Swarm"] = .object([
            ("NodeID", .string("")), ("NodeAddr", .string("")), ("LocalNodeState", .string("inactive")),
            ("ControlAvailable", .bool(false)), ("Error", .string("")), ("RemoteManagers", .null),
        ])
        o["LiveRestoreEnabled"] = .bool(true)
        o["Isolation"] = .string("")
        o["InitBinary"] = .string("")
        o["ContainerdCommit"] = .object([("ID", .string(""))])
        o["RuncCommit"] = .object([("ID", .string(""))])
        o["InitCommit"] = .object([("ID", .string(""))])
        o["SecurityOptions"] = .strings(["name=seccomp,profile=builtin", "name=cgroupns"])
        o["Warnings"] = .array([])
        o["DefaultNetwork"] = .string(engine.network.defaultNetwork)
        o["DefaultAddressPools"] = .array(
            engine.network.pools.map {
                .object([("Base", .string($0.base.description)), ("Size", .int($0.size))])
            })
        o["Berth"] = .object([
            ("ConfigFile", .string(configuration.configFile ?? "")),
            ("DefaultNetwork", .string(engine.network.defaultNetwork)),
            ("LogLevel", .string(engine.logLevel)),
            ("HooksDir", .string(engine.hooks.dir)),
            (
                "Hooks",
                .array(scripts.map { .object([("Name", .string($0.name)), ("Events", .strings($0.events))]) })
            ),
            ("PluginDirs", .strings(engine.plugins.dirs)),
        ])
        return o
    }

    func berthStatfsIsCgroup2() -> Bool { berth_statfs_type("/sys/fs/cgroup") == 0x6367_7270 }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(String(self))
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
