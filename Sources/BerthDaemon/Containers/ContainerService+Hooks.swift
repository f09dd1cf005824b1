import BerthCore
import BerthLua

extension ContainerService {
    /// The table a hook receives for a container: what it is, what it runs, its limits and mounts, and
    /// where it runs (pid and rootfs) while it does.
    func hookObject(_ r: ContainerRecord, event: HookEvent) -> JSONValue {
        let h = r.hostConfig
        var o: [(String, JSONValue)] = [
            ("event", .string(event.rawValue)), ("id", .string(r.id)), ("name", .string(r.name)),
            ("image", .string(r.config["Image"]?.stringValue ?? "")), ("image_id", .string(r.imageID)),
            ("command", .strings([r.path] + r.args)), ("labels", .map(r.labels)),
            ("env", .strings(r.config["Env"]?.stringArray ?? [])),
            ("user", .string(r.config["User"]?.stringValue ?? "")),
            ("working_dir", .string(r.config["WorkingDir"]?.stringValue ?? "")),
            ("hostname", .string(r.config["Hostname"]?.stringValue ?? "")),
            ("tty", .bool(r.tty)), ("status", .string(r.status.rawValue)),
        ]
        var mounts: [JSONValue] = []
        // Before the create has resolved them, the mounts are those `Binds` asks for.
        let points =
            r.mounts.isEmpty ? (h["Binds"]?.stringArray ?? []).compactMap { try? Self.parseBindSpec($0) } : r.mounts
        for m in points {
            mounts.append(
                .object([
                    ("type", .string(m.type)), ("source", .string(m.type == "bind" ? m.source : m.name)),
                    ("destination", .string(m.destination)), ("rw", .bool(m.rw)),
                ]))
        }
        for (target, _) in h["Tmpfs"]?.objectMembers ?? [] {
            mounts.append(
                .object([
                    ("type", .string("tmpfs")), ("source", .string("tmpfs")), ("destination", .string(target)),
                    ("rw", .bool(true)),
                ]))
        }
        o.append(("mounts", .array(mounts)))
        var limits: [(String, JSONValue)] = []
        if let m = h["Memory"]?.int64Value, m > 0 { limits.append(("memory", .integer(m))) }
        if let s = h["MemorySwap"]?.int64Value, s != 0 { limits.append(("memory_swap", .integer(s))) }
        if let n = h["NanoCpus"]?.int64Value, n > 0 { limits.append(("cpus", .number(Double(n) / 1e9))) }
        if let s = h["CpuShares"]?.int64Value, s > 0 { limits.append(("cpu_shares", .integer(s))) }
        if let p = h["PidsLimit"]?.int64Value, p > 0 { limits.append(("pids", .integer(p))) }
        o.append(("limits", .object(limits)))
        o.append(
            (
                "network",
                .object([("mode", .string(h["NetworkMode"]?.stringValue ?? "")), ("addresses", .array([]))])
            ))
        if r.isRunning, r.pid > 0 {
            o.append(("pid", .int(r.pid)))
            o.append(("rootfs", .string("/proc/\(r.pid)/root")))
        }
        if r.status == .exited || r.finishedAt > 0 {
            o.append(("exit_code", .int(r.exitCode)))
            o.append(("oom_killed", .bool(r.oomKilled)))
        }
        return .object(o)
    }

    /// Applies what the `create` hooks returned to the container being created, then checks the result as
    /// if the client had asked for it (a hook cannot bind a missing path or set a limit below the minimum).
    func applyHookChanges(_ changes: HookChanges, to record: inout ContainerRecord) throws(BerthError) {
        var labels = record.config["Labels"]?.stringMap ?? [:]
        for (k, v) in changes.labels { labels[k] = v }
        record.config["Labels"] = .map(labels)
        if !changes.env.isEmpty {
            var env = record.config["Env"]?.stringArray ?? []
            for e in changes.env {
                let key = e.split(separator: "=", maxSplits: 1).first.map(String.init) ?? e
                env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
                env.append(e)
            }
            record.config["Env"] = .strings(env)
        }
        var h = record.hostConfig
        if !changes.mounts.isEmpty { h["Binds"] = .strings((h["Binds"]?.stringArray ?? []) + changes.mounts) }
        if let memory = changes.memory {
            h["Memory"] = .integer(memory)
            if let swap = h["MemorySwap"]?.int64Value, swap > 0, swap < memory { h["MemorySwap"] = .integer(memory) }
        }
        if let cpus = changes.cpus {
            h["NanoCpus"] = .integer(Int64(cpus * 1e9))
            h["CpuQuota"] = .integer(0)
        }
        if let pids = changes.pids { h["PidsLimit"] = .integer(pids) }
        do { try validate(hostConfig: &h) } catch {
            throw BerthError(
                error.code,
                "hook \(changes.scripts.joined(separator: ", ")) changed create into an invalid container: \(error.message)"
            )
        }
        record.hostConfig = h
        logger.info(
            "hooks changed container",
            metadata: [
                LogKey.container: "\(record.id)", "scripts": "\(changes.scripts.joined(separator: ","))",
            ])
    }

    /// Queues an observe-only event for the hooks (no-op when no script handles it).
    func notifyHooks(_ event: HookEvent, _ record: ContainerRecord) {
        guard hooks.handles(event) else { return }
        hooks.notify(event, hookObject(record, event: event))
    }
}
