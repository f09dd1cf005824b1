import BerthCgroups
import BerthCore
import BerthImage
import BerthOS
import BerthRuntime
import Glibc

extension ContainerService {
    var cgroups: any CgroupManager { Cgroups.detect() }

    func cgroupPath(_ id: String) -> String { "\(configuration.cgroupParent)/\(id)" }

    // MARK: - pause / unpause

    /// `POST /containers/{id}/pause`: freezes every process of the container (cgroup freezer).
    func pause(_ ref: String) throws(BerthError) {
        var record = try lookup(ref)
        guard record.isRunning, record.status != .restarting else {
            throw .conflict("Container \(record.id) is not running")
        }
        if record.status == .paused { throw .conflict("Container \(record.id) is already paused") }
        try cgroups.setFrozen(path: cgroupPath(record.id), true)
        record.status = .paused
        saveQuietly(record, durable: false)
        emit("pause", record)
    }

    /// `POST /containers/{id}/unpause`.
    func unpause(_ ref: String) throws(BerthError) {
        var record = try lookup(ref)
        guard record.status == .paused else { throw .conflict("Container \(record.id) is not paused") }
        try cgroups.setFrozen(path: cgroupPath(record.id), false)
        record.status = .running
        saveQuietly(record, durable: false)
        emit("unpause", record)
    }

    /// A signal to a paused container is delivered once it is thawed (stop and kill thaw it, as Docker does).
    func thawForSignal(_ id: String) {
        guard var record = records[id], record.status == .paused else { return }
        try? cgroups.setFrozen(path: cgroupPath(id), false)
        record.status = .running
        saveQuietly(record, durable: false)
        emit("unpause", record)
    }

    // MARK: - top

    /// The pids of a running container's cgroup, for `top`.
    func topPids(_ ref: String) throws(BerthError) -> [Int32] {
        let record = try lookup(ref)
        guard record.isRunning else { throw .conflict("Container \(record.id) is not running") }
        return cgroups.pids(path: cgroupPath(record.id))
    }

    /// `GET /containers/{id}/top?ps_args=`: the host's `ps` with those arguments, limited to the container's
    /// processes (Docker's way: the columns are whatever `ps` prints; PID must be one of them).
    nonisolated func top(_ ref: String, psArgs: String) async throws(BerthError) -> JSONValue {
        let pids = Set(try await topPids(ref))
        let args = psArgs.split(separator: " ").map(String.init)
        let result = try HostCommand.run("/bin/ps", args.isEmpty ? ["-ef"] : args)
        guard result.status == 0 else {
            throw .internalError(
                "ps: exit status \(result.status): \(String(decoding: result.stderr, as: UTF8.self).trimmingSpaces)")
        }
        return try Self.parsePS(String(decoding: result.stdout, as: UTF8.self), pids: pids)
    }

    /// `ps` output to `{"Titles": [...], "Processes": [[...]]}` for the rows whose PID is in `pids`.
    static func parsePS(_ text: String, pids: Set<Int32>) throws(BerthError) -> JSONValue {
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first else { throw .internalError("ps printed nothing") }
        let titles = header.split(separator: " ").map(String.init)
        guard let pidColumn = titles.firstIndex(of: "PID") else {
            throw .internalError("Couldn't find PID field in ps output")
        }
        var rows: [JSONValue] = []
        for line in lines.dropFirst() {
            // The last column (the command) keeps its spaces.
            var fields = line.split(separator: " ", maxSplits: titles.count - 1).map(String.init)
            if fields.count < titles.count { continue }
            fields[titles.count - 1] = fields[titles.count - 1].trimmingSpaces
            guard let pid = Int32(fields[pidColumn]), pids.contains(pid) else { continue }
            rows.append(.strings(fields))
        }
        return .object([("Titles", .strings(titles)), ("Processes", .array(rows))])
    }

    // MARK: - stats

    /// One `stats` sample of a container: its cgroup counters, the host's CPU time and its network counters.
    func statsSample(_ ref: String) throws(BerthError) -> (ContainerRecord, CgroupStats?, [String: [UInt64]]) {
        let record = try lookup(ref)
        guard record.isRunning, record.pid > 0 else { return (record, nil, [:]) }
        return (record, cgroups.stats(path: cgroupPath(record.id)), Self.networkCounters(pid: record.pid))
    }

    /// rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes, tx_packets, tx_errors, tx_dropped per interface
    /// (but `lo`) in the network namespace of `pid`.
    static func networkCounters(pid: Int32) -> [String: [UInt64]] {
        guard let text = try? FileSystem.readText("/proc/\(pid)/net/dev") else { return [:] }
        var out: [String: [UInt64]] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingSpaces
            if name == "lo" { continue }
            let v = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard v.count >= 12 else { continue }
            out[name] = [v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]]
        }
        return out
    }

    /// The host's total CPU time in nanoseconds (the `system_cpu_usage` of Docker's stats).
    static func systemCPUNanos() -> UInt64 {
        guard let text = try? FileSystem.readText("/proc/stat"), let line = text.split(separator: "\n").first else {
            return 0
        }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        return ticks * (1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK)))))
    }

    /// One stats document as Docker's API gives it; `previous` fills `precpu_stats` and `preread`.
    static func statsJSON(
        record: ContainerRecord, stats s: CgroupStats?, networks: [String: [UInt64]], system: UInt64,
        read: Int64, previous: (stats: CgroupStats?, system: UInt64, read: Int64)?
    ) -> JSONValue {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        func cpu(_ s: CgroupStats?, _ system: UInt64) -> JSONValue {
            guard let s else {
                return .object([
                    (
                        "cpu_usage",
                        .object([
                            ("total_usage", .int(0)), ("usage_in_kernelmode", .int(0)), ("usage_in_usermode", .int(0)),
                        ])
                    ),
                    (
                        "throttling_data",
                        .object([("periods", .int(0)), ("throttled_periods", .int(0)), ("throttled_time", .int(0))])
                    ),
                ])
            }
            var usage: [(String, JSONValue)] = [("total_usage", .int(Int64(s.cpuTotal)))]
            if !s.cpuPerCPU.isEmpty { usage.append(("percpu_usage", .array(s.cpuPerCPU.map { .int(Int64($0)) }))) }
            usage += [("usage_in_kernelmode", .int(Int64(s.cpuSystem))), ("usage_in_usermode", .int(Int64(s.cpuUser)))]
            return .object([
                ("cpu_usage", .object(usage)), ("system_cpu_usage", .int(Int64(system))), ("online_cpus", .int(online)),
                (
                    "throttling_data",
                    .object([("periods", .int(0)), ("throttled_periods", .int(0)), ("throttled_time", .int(0))])
                ),
            ])
        }
        var memory: [(String, JSONValue)] = []
        if let s {
            memory = [
                ("usage", .int(Int64(s.memoryUsage))), ("max_usage", .int(Int64(s.memoryMaxUsage))),
                ("stats", .object(s.memoryStat.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
                ("limit", .int(Int64(s.memoryLimit))),
            ]
        }
        let keys = [
            "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
        ]
        var fields: [(String, JSONValue)] = [
            ("read", .string(Clock.rfc3339Nano(read))),
            ("preread", .string(previous.map { Clock.rfc3339Nano($0.read) } ?? "0001-01-01T00:00:00Z")),
            (
                "pids_stats",
                s.map {
                    .object(
                        [("current", .int(Int64($0.pidsCurrent)))]
                            + ($0.pidsLimit > 0 ? [("limit", .int(Int64($0.pidsLimit)))] : []))
                } ?? .object([])
            ),
            (
                "blkio_stats",
                .object([
                    ("io_service_bytes_recursive", .null), ("io_serviced_recursive", .null),
                    ("io_queue_recursive", .null), ("io_service_time_recursive", .null),
                    ("io_wait_time_recursive", .null), ("io_merged_recursive", .null), ("io_time_recursive", .null),
                    ("sectors_recursive", .null),
                ])
            ),
            ("num_procs", .int(0)), ("storage_stats", .object([])),
            ("cpu_stats", cpu(s, system)),
            ("precpu_stats", previous.map { cpu($0.stats, $0.system) } ?? cpu(nil, 0)),
            ("memory_stats", .object(memory)),
            ("name", .string("/" + record.name)), ("id", .string(record.id)),
        ]
        if !networks.isEmpty {
            fields.append(
                (
                    "networks",
                    .object(
                        networks.sorted { $0.key < $1.key }.map { name, v in
                            (name, .object(zip(keys, v).map { ($0, .int(Int64($1))) }))
                        })
                ))
        }
        return .object(fields)
    }
}

extension ContainerService {
    // MARK: - diff / commit

    /// `GET /containers/{id}/changes`.
    func changes(_ ref: String) async throws(BerthError) -> JSONValue {
        let record = try lookup(ref)
        let parent = try await images.resolve(record.imageID).topLayer
        let diff = try await LayerChanges.compute(storage: storage, layer: record.id, parent: parent)
        return .array(diff.changes.map { .object([("Path", .string($0.path)), ("Kind", .int($0.kind.rawValue))]) })
    }

    /// `POST /commit`: the container's changes as a new image (its processes frozen meanwhile unless
    /// `pause=false`, as Docker does).
    func commit(
        _ ref: String, reference: ImageReference?, comment: String, author: String, changes: [String],
        pause: Bool, config overrides: JSONValue
    ) async throws(BerthError) -> ImageRecord {
        let record = try lookup(ref)
        for line in changes {
            var scratch: JSONValue = .object([])
            try ConfigChanges.apply(line, to: &scratch)
        }
        let image = try await images.resolve(record.imageID)
        var config = record.config
        for (key, value) in overrides.objectMembers where value != .null { config[key] = value }
        var request = ImageCommitter.Request(
            containerID: record.id, image: image, containerConfig: config,
            createdBy: ([record.path] + record.args).joined(separator: " "))
        request.changes = changes
        request.comment = comment
        request.author = author
        request.reference = reference
        let freeze = pause && record.status == .running
        if freeze { try cgroups.setFrozen(path: cgroupPath(record.id), true) }
        defer { if freeze { try? cgroups.setFrozen(path: cgroupPath(record.id), false) } }
        let committed = try await ImageCommitter(store: images).commit(request, tmpDir: configuration.root + "/tmp")
        emit("commit", record, extra: ["comment": comment])
        return committed
    }
}

extension ContainerService {
    // MARK: - rename / update

    /// `POST /containers/{id}/rename?name=`: the new name, also in the resolvers of its user networks.
    func rename(_ ref: String, to newName: String?) throws(BerthError) {
        var record = try lookup(ref)
        guard let requested = newName, !requested.isEmpty else { throw .invalidArgument("name cannot be empty") }
        let plain = requested.hasPrefix("/") ? String(requested.dropFirst()) : requested
        if plain == record.name {
            throw .invalidArgument("Renaming a container with the same name as its current name")
        }
        let name = try validateName(plain)
        let old = record.name
        record.name = name
        try save(record)
        if record.isRunning {
            for network in networkRecords.values {
                guard let e = endpoint(of: record, on: network), isAttached(record, to: network) else { continue }
                dns.remove(network: network.id, containerID: record.id)
                let aliases =
                    record.connections.first { $0.networkID == network.id }?.aliases ?? record.aliases
                registerNames(record, on: network, endpoint: e, aliases: aliases)
            }
        }
        emit("rename", record, extra: ["oldName": "/" + old])
    }

    /// `POST /containers/{id}/update`: new resource limits and restart policy; a running container's cgroup
    /// changes at once. When the kernel refuses (a memory limit below the current usage), nothing changes.
    func update(_ ref: String, body: JSONValue) throws(BerthError) -> [String] {
        var record = try lookup(ref)
        var h = record.hostConfig
        let keys = [
            "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod",
            "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight",
        ]
        for key in keys { if let v = body[key], v != .null { h[key] = v } }
        if let policy = body["RestartPolicy"], let name = policy["Name"]?.stringValue, !name.isEmpty {
            guard ["no", "always", "unless-stopped", "on-failure"].contains(name) else {
                throw .invalidArgument("invalid restart policy '\(name)'")
            }
            if name != "no", record.autoRemove {
                throw .invalidArgument(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container")
            }
            h["RestartPolicy"] = policy
        }
        // A new memory limit above the old swap limit moves the swap limit with it, as Docker does.
        if let memory = body["Memory"]?.int64Value, memory > 0, body["MemorySwap"] == nil,
            let swap = h["MemorySwap"]?.int64Value, swap > 0, swap < memory
        {
            h["MemorySwap"] = .int(memory * 2)
        }
        try validate(hostConfig: &h)
        if record.isRunning {
            var r = Self.resources(body)
            r.memorySwap = h["MemorySwap"]?.int64Value ?? 0
            do {
                try cgroups.update(path: cgroupPath(record.id), resources: r)
            } catch {
                // Put back what was there, so that a half-applied update leaves nothing changed.
                let old = Self.resources(record.hostConfig)
                try? cgroups.update(path: cgroupPath(record.id), resources: old)
                throw .internalError("Cannot update container \(record.id): \(error.message)")
            }
        }
        record.hostConfig = h
        try save(record)
        emit("update", record)
        return []
    }
}
