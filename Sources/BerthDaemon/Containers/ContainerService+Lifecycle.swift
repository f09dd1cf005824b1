import BerthCgroups
import BerthCore
import BerthOS
import BerthRuntime
import Glibc

extension ContainerService {
    // MARK: - Start

    /// `byUser`: a start through the API (not by a restart policy) clears the manual stop and the restart count.
    func start(_ ref: String, byUser: Bool = false) async throws(BerthError) {
        var record = try lookup(ref)
        if record.status == .restarting, byUser { cancelRestart(&record) }
        if record.isRunning { throw BerthError(.notModified, "container already started") }
        if byUser, record.manuallyStopped || record.restartCount > 0 {
            record.manuallyStopped = false
            record.restartCount = 0
            records[record.id] = record
        }
        if record.status == .removing {
            throw .conflict("container \(record.id) is marked for removal and cannot be started")
        }
        let id = record.id
        if runtimes[id]?.starting == true { throw .conflict("container \(id) is already being started") }
        var rt = runtimes[id] ?? Runtime()
        rt.starting = true
        rt.pendingExit = nil
        runtimes[id] = rt
        // prestart hooks may refuse; nothing exists yet for the process (no cgroup, mounts or shim).
        if hooks.handles(.prestart) {
            let outcome = await hooks.run(.prestart, hookObject(record, event: .prestart))
            if let error = outcome.error(.prestart) { throw await startFailed(id, error) }
        }
        let result: (ShimSession, Int32)
        do {
            var spec = try await makeSpec(record)
            try await attachNetwork(&record, spec: &spec)
            records[id]?.endpoint = record.endpoint
            try await attachConnections(&record, spec: &spec)
            records[id]?.connections = record.connections
            // Output crosses to the daemon only while someone is attached (the session keeps the shim told).
            spec.forwardOutput = rt.output.hasSubscribers
            result = try await launcher.start(spec: spec, output: rt.output) { [weak self] event in
                Task { await self?.shimEvent(id, event) }
            }
        } catch {
            throw await startFailed(id, error)
        }
        let endpoint = record.endpoint
        let connections = record.connections
        record = records[id] ?? record
        record.endpoint = endpoint
        record.connections = connections
        record.status = .running
        record.pid = result.1
        record.startedAt = Clock.nowNanos()
        record.finishedAt = 0
        record.exitCode = 0
        record.error = ""
        record.oomKilled = false
        record.hasRun = true
        runtimes[id]?.session = result.0
        runtimes[id]?.starting = false
        // Status changes are not fsynced (the actor would wait for the disk, serialising parallel starts): a
        // daemon crash keeps the page cache, and a power loss, which stops every container anyway, leaves the
        // previous or the new record (replaced by rename, never rewritten in place).
        saveQuietly(record, durable: false)
        emit("start", record)
        startHealthChecks(id)
        notifyHooks(.poststart, record)
        if let pending = runtimes[id]?.pendingExit {
            runtimes[id]?.pendingExit = nil
            await shimEvent(id, pending)
        }
    }

    /// Records a failed start like Docker: the exit code of the failure class (127 command not found, 126 not
    /// executable, 125 otherwise), a `die` event, woken waiters, and removal for `--rm`; nothing is left half-made.
    /// - Returns: the error for the client.
    func startFailed(_ id: String, _ error: BerthError) async -> BerthError {
        runtimes[id]?.starting = false
        guard var failed = records[id] else { return error }
        await releaseVolumes(failed)
        await detachNetwork(&failed)
        await detachConnections(&failed)
        let code = error.code.name == "start" ? error.code.errno : 125
        failed.exitCode = code
        failed.error = error.message
        failed.finishedAt = Clock.nowNanos()
        saveQuietly(failed, durable: false)
        emit("die", failed, extra: ["exitCode": String(code)])
        resumeWaiters(id, removed: false, code: code)
        if failed.autoRemove { await removeQuietly(id) }
        scheduleRestartIfNeeded(id)
        if error.code.name != "start" { return error }
        let message =
            "failed to create task for container: failed to start container process: \(error.message): unknown"
        return BerthError(code == 125 ? .internalError : .invalidArgument, message)
    }

    /// The shim spec for a container: its root filesystem, mounts, process, security and resources.
    func makeSpec(_ record: ContainerRecord) async throws(BerthError) -> ShimSpec {
        let h = record.hostConfig
        let c = record.config
        let rootMounts = try await storage.mounts(for: record.id)
        let state = stateDir(record.id)
        var spec = ShimSpec(
            id: record.id, stateDir: state, logPath: logPath(record.id), rootfs: state + "/rootfs",
            rootMounts: rootMounts,
            args: [record.path] + record.args, env: c["Env"]?.stringArray ?? [],
            cgroupPath: "\(configuration.cgroupParent)/\(record.id)")
        let dir = recordDir(record.id)
        spec.mounts = [
            .init(source: dir + "/hostname", target: "/etc/hostname", type: "bind", options: ["rbind", "rprivate"]),
            .init(source: dir + "/hosts", target: "/etc/hosts", type: "bind", options: ["rbind", "rprivate"]),
            .init(
                source: dir + "/resolv.conf", target: "/etc/resolv.conf", type: "bind", options: ["rbind", "rprivate"]),
        ]
        spec.mounts += try await volumeMounts(record)
        for (target, value) in h["Tmpfs"]?.objectMembers ?? [] {
            var options = ["nosuid", "nodev", "noexec"]
            if let v = value.stringValue, !v.isEmpty { options = v.split(separator: ",").map(String.init) }
            spec.mounts.append(.init(source: "tmpfs", target: target, type: "tmpfs", options: options))
        }
        spec.hostNetwork = sandboxMode(record.networkMode) == .host
        spec.hostname = c["Hostname"]?.stringValue
        if record.networkMode.hasPrefix("container:") {
            // Another container's network namespace, with its hostname, hosts and resolv.conf (as Docker).
            let target = try lookup(String(record.networkMode.dropFirst(10)))
            guard target.isRunning, target.pid > 0 else {
                throw .conflict("cannot join network of a non running container: \(target.name)")
            }
            spec.joinNetworkNamespace = "/proc/\(target.pid)/ns/net"
            spec.hostname = target.config["Hostname"]?.stringValue
            let other = recordDir(target.id)
            for i in spec.mounts.indices
            where ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"].contains(spec.mounts[i].target) {
                spec.mounts[i].source = other + "/" + FileSystem.basename(spec.mounts[i].target)
            }
        }
        spec.readonlyRootfs = h["ReadonlyRootfs"]?.boolValue ?? false
        spec.cwd = (c["WorkingDir"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        spec.user = c["User"]?.stringValue ?? ""
        try Self.applySecurity(&spec, hostConfig: h, privileged: h["Privileged"]?.boolValue ?? false)
        if spec.privileged { spec.mounts += Self.hostDeviceMounts() }
        spec.openStdin = c["OpenStdin"]?.boolValue ?? false
        spec.stdinOnce = c["StdinOnce"]?.boolValue ?? false
        spec.tty = record.tty
        (spec.logMaxSize, spec.logMaxFiles) = try Self.logRotation(h["LogConfig"]?["Config"]?.stringMap ?? [:])
        if let size = h["ConsoleSize"]?.arrayValue, size.count == 2 {
            spec.consoleRows = size[0].intValue ?? 0
            spec.consoleCols = size[1].intValue ?? 0
        }
        var r = Self.resources(h)
        r.allowAllDevices = spec.privileged
        spec.resources = r
        spec.trace = configuration.logLevel == "debug"
        return spec
    }

    /// The cgroup limits of a HostConfig (or of an `update` body: absent fields are 0, "leave as it is").
    static func resources(_ h: JSONValue) -> ShimSpec.Resources {
        var r = ShimSpec.Resources()
        r.memory = h["Memory"]?.int64Value ?? 0
        r.memorySwap = h["MemorySwap"]?.int64Value ?? 0
        r.nanoCpus = h["NanoCpus"]?.int64Value ?? 0
        r.cpuShares = h["CpuShares"]?.int64Value ?? 0
        r.cpuQuota = h["CpuQuota"]?.int64Value ?? 0
        r.cpuPeriod = h["CpuPeriod"]?.int64Value ?? 0
        r.cpusetCpus = h["CpusetCpus"]?.stringValue ?? ""
        r.cpusetMems = h["CpusetMems"]?.stringValue ?? ""
        r.pidsLimit = h["PidsLimit"]?.int64Value ?? 0
        return r
    }

    /// Privileges, capabilities, seccomp, no-new-privileges and rlimits from a container's HostConfig: the same
    /// for its first process and for every exec (`privileged` may be an exec's own `--privileged`).
    static func applySecurity(_ spec: inout ShimSpec, hostConfig h: JSONValue, privileged: Bool) throws(BerthError) {
        spec.privileged = privileged
        spec.capabilities = try Capabilities.effective(
            add: h["CapAdd"]?.stringArray ?? [], drop: h["CapDrop"]?.stringArray ?? [], privileged: spec.privileged)
        spec.seccomp = spec.privileged ? .unconfined : .dockerDefault
        for opt in h["SecurityOpt"]?.stringArray ?? [] {
            switch try SecurityOptions.parse(opt) {
            case .seccompUnconfined: spec.seccomp = .unconfined
            case .seccompProfile(let p): spec.seccomp = .custom(p)
            case .noNewPrivileges(let on): spec.noNewPrivileges = on
            case .ignored: break
            }
        }
        for u in h["Ulimits"]?.arrayValue ?? [] {
            guard let name = u["Name"]?.stringValue else { continue }
            // -1 is unlimited (RLIM_INFINITY), as Docker's `--ulimit core=-1`.
            func limit(_ v: Int64?) -> UInt64 { (v ?? 0) < 0 ? UInt64.max : UInt64(v ?? 0) }
            spec.rlimits.append(
                .init(name: name, soft: limit(u["Soft"]?.int64Value), hard: limit(u["Hard"]?.int64Value)))
        }
    }

    /// A privileged container sees the host's devices, as with Docker: every character and block device under
    /// the host's /dev (one directory level deep) that the container's own /dev does not provide already.
    static func hostDeviceMounts(root: String = "/dev") -> [ShimSpec.Mount] {
        let own: Set<String> = ["null", "zero", "full", "random", "urandom", "tty", "console", "ptmx"]
        let skipDirs: Set<String> = ["pts", "shm", "mqueue", "fd"]
        var mounts: [ShimSpec.Mount] = []
        func visit(_ dir: String, _ relative: String, depth: Int) {
            for name in ((try? FileSystem.list(dir)) ?? []).sorted() {
                let path = dir + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                let kind = st.st_mode & S_IFMT
                if kind == S_IFCHR || kind == S_IFBLK {
                    if relative.isEmpty, own.contains(name) { continue }
                    mounts.append(.init(source: path, target: "/dev/" + rel, type: "bind", options: ["bind"]))
                } else if kind == S_IFDIR, depth == 0, !skipDirs.contains(name) {
                    visit(path, rel, depth: 1)
                }
            }
        }
        visit(root, "", depth: 0)
        return mounts
    }

    // MARK: - Shim events

    func shimEvent(_ id: String, _ event: ShimSession.Event) async {
        if shuttingDown { return }
        if runtimes[id]?.starting == true {
            runtimes[id]?.pendingExit = event
            return
        }
        let status: ExitStatus
        switch event {
        case .started: return
        case .exited(let s): status = s
        case .failed(let code, let message):
            status = ExitStatus(exitCode: code, oomKilled: false, finishedAt: Clock.nowNanos(), error: message)
        case .lost:
            // The shim normally removes the cgroup; one that was killed cannot.
            Cgroups.detect().remove(path: "\(configuration.cgroupParent)/\(id)")
            let file = "\(stateDir(id))/exit.json"
            if let bytes = try? FileSystem.readFile(file), let json = try? JSONValue.parse(bytes: bytes),
                let s = try? ExitStatus(json: json)
            {
                status = s
            } else {
                status = ExitStatus(
                    exitCode: 137, oomKilled: false, finishedAt: Clock.nowNanos(), error: "shim exited unexpectedly")
            }
        }
        await recordExit(id, status)
    }

    func recordExit(_ id: String, _ status: ExitStatus) async {
        guard var record = records[id], record.isRunning else { return }
        runtimes[id]?.session?.close()
        runtimes[id]?.session = nil
        stopHealthChecks(id)
        dropExecs(of: id)
        await releaseVolumes(record)
        record.status = .exited
        record.pid = 0
        record.exitCode = status.exitCode
        record.oomKilled = status.oomKilled
        record.finishedAt = status.finishedAt > 0 ? status.finishedAt : Clock.nowNanos()
        record.error = status.error
        await detachNetwork(&record)
        await detachConnections(&record)
        // A container removed on exit goes straight to `removing` (one write instead of two).
        if record.autoRemove { record.status = .removing }
        saveQuietly(record, durable: false)
        notifyHooks(.poststop, record)
        if status.oomKilled { emit("oom", record) }
        emit("die", record, extra: ["exitCode": String(status.exitCode)])
        resumeWaiters(id, removed: false, code: status.exitCode)
        if record.autoRemove { await removeQuietly(id) }
        scheduleRestartIfNeeded(id)
    }

    // MARK: - Stop, kill, restart

    func stop(_ ref: String, timeout: Int?, signal: String?) async throws(BerthError) {
        var record = try lookup(ref)
        if record.status == .restarting {
            cancelRestart(&record)
            emitStop(record.id)
            return
        }
        markManuallyStopped(record.id)
        guard record.isRunning, let session = runtimes[record.id]?.session else {
            throw BerthError(.notModified, "container already stopped")
        }
        let sigName = signal.flatMap { $0.isEmpty ? nil : $0 } ?? record.config["StopSignal"]?.stringValue ?? "SIGTERM"
        let sig = (try? Signals.parse(sigName)) ?? SIGTERM
        let seconds = timeout ?? record.config["StopTimeout"]?.intValue ?? 10
        notifyHooks(.stop, record)
        session.signal(sig)
        thawForSignal(record.id)
        if seconds < 0 {
            _ = await waitStopped(record.id, seconds: .infinity)
            return
        }
        if await waitStopped(record.id, seconds: Double(seconds)) { emitStop(record.id); return }
        session.signal(SIGKILL)
        if !(await waitStopped(record.id, seconds: 10)) {
            throw .internalError("container \(record.id) did not stop after SIGKILL")
        }
        emitStop(record.id)
    }

    private func emitStop(_ id: String) {
        if let r = records[id] { emit("stop", r) }
    }

    func kill(_ ref: String, signal: String?) async throws(BerthError) {
        let record = try lookup(ref)
        let sig = try Signals.parse(signal.flatMap { $0.isEmpty ? nil : $0 } ?? "KILL")
        if record.status == .restarting {
            throw .conflict("Container \(record.id) is restarting, wait until the container is running")
        }
        guard record.isRunning, let session = runtimes[record.id]?.session else {
            throw .conflict("Cannot kill container: \(ref): Container \(record.id) is not running")
        }
        markManuallyStopped(record.id)
        session.signal(sig)
        thawForSignal(record.id)
        emit("kill", record, extra: ["signal": String(sig)])
        if sig == SIGKILL { _ = await waitStopped(record.id, seconds: 10) }
    }

    func restart(_ ref: String, timeout: Int?, signal: String?) async throws(BerthError) {
        let record = try lookup(ref)
        if record.isRunning {
            do { try await stop(record.id, timeout: timeout, signal: signal) } catch  where error.code == .notModified {
            }
        }
        try await start(record.id, byUser: true)
        if let r = records[record.id] { emit("restart", r) }
    }

    // MARK: - Remove

    /// `removeVolumes` (`rm -v`): the container's anonymous volumes go with it (with `--rm` they always do).
    func remove(_ ref: String, force: Bool, removeVolumes: Bool = false) async throws(BerthError) {
        var record = try lookup(ref)
        if record.status == .removing { throw .conflict("removal of container \(record.id) is already in progress") }
        if record.status == .restarting, force { cancelRestart(&record) }
        if record.isRunning {
            guard force else {
                throw .conflict(
                    "You cannot remove a running container \(record.id). Stop the container before attempting removal or force remove"
                )
            }
            notifyHooks(.stop, record)
            runtimes[record.id]?.session?.signal(SIGKILL)
            if !(await waitStopped(record.id, seconds: 10)) {
                throw .internalError("could not kill running container \(record.id), cannot remove")
            }
        }
        await removeQuietly(record.id, removeVolumes: removeVolumes)
    }

    /// Removes a stopped container: record marked `removing` first, so a crash mid-way finishes at restart.
    func removeQuietly(_ id: String, removeVolumes: Bool = false) async {
        guard var record = records[id] else { return }
        if record.status == .removing, runtimes[id] == nil { return }
        if record.status != .removing {
            // Not fsynced: after a crash the container is either still listed (remove it again) or, with its
            // layer gone, swept by restore.
            record.status = .removing
            saveQuietly(record, durable: false)
        }
        do { try await storage.remove(id: id) } catch  where error.code != .notFound {
            logger.error(
                "failed to remove container layer",
                metadata: [LogKey.container: "\(id)", LogKey.error: "\(error.message)"])
        } catch {}
        try? FileSystem.removeTree(stateDir(id))
        discardRecordDir(id)
        records[id] = nil
        runtimes[id]?.output.shutdown()
        runtimes[id] = nil
        emit("destroy", record)
        if removeVolumes || record.autoRemove {
            for m in record.mounts where m.type == "volume" {
                guard let v = try? await volumes.get(m.name), v.isAnonymous, volumeUsers(m.name).isEmpty else {
                    continue
                }
                try? await volumes.remove(m.name)
            }
        }
        notifyHooks(.remove, record)
        resumeWaiters(id, removed: true, code: record.exitCode)
    }
}
