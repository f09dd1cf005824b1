import BerthCore
import BerthOS

/// Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`) with Docker's back-off.
extension ContainerService {
    /// Whether the policy restarts the container after this exit.
    static func policyRestarts(_ r: ContainerRecord) -> Bool {
        if r.autoRemove || r.manuallyStopped { return false }
        let policy = r.hostConfig["RestartPolicy"]
        switch policy?["Name"]?.stringValue ?? "" {
        case "always", "unless-stopped": return true
        case "on-failure":
            let max = policy?["MaximumRetryCount"]?.intValue ?? 0
            return r.exitCode != 0 && (max <= 0 || r.restartCount < max)
        default: return false
        }
    }

    /// After an exit (or a failed start): marks the container `restarting` and starts it again after the
    /// back-off, when its policy says so.
    func scheduleRestartIfNeeded(_ id: String) {
        guard var record = records[id], !record.isRunning, record.status != .removing, Self.policyRestarts(record)
        else { return }
        var delay = runtimes[id]?.restartDelay ?? 0.1
        // A run of at least 10 s resets the back-off.
        if record.startedAt > 0, record.finishedAt - record.startedAt >= 10_000_000_000 { delay = 0.1 }
        runtimes[id]?.restartDelay = min(delay * 2, 60)
        record.status = .restarting
        saveQuietly(record, durable: false)
        runtimes[id]?.restartTask = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            if Task.isCancelled { return }
            await self?.restartByPolicy(id)
        }
    }

    /// The policy's restart: a new run, counted in `RestartCount`; a failed start is an exit like any other.
    func restartByPolicy(_ id: String) async {
        guard var record = records[id], record.status == .restarting else { return }
        runtimes[id]?.restartTask = nil
        record.status = .exited
        record.restartCount += 1
        records[id] = record
        do {
            try await start(id)
            if let r = records[id] { emit("restart", r) }
        } catch {
            logger.warning(
                "restart policy could not start the container",
                metadata: [LogKey.container: "\(id)", LogKey.error: "\(error.message)"])
        }
    }

    /// A `restarting` container stopped, started or removed through the API: the pending restart is dropped.
    func cancelRestart(_ record: inout ContainerRecord) {
        runtimes[record.id]?.restartTask?.cancel()
        runtimes[record.id]?.restartTask = nil
        record.status = .exited
        record.manuallyStopped = true
        saveQuietly(record, durable: false)
    }

    func markManuallyStopped(_ id: String) {
        guard var r = records[id], !r.manuallyStopped else { return }
        r.manuallyStopped = true
        saveQuietly(r, durable: false)
    }

    /// At daemon start: `always` containers run again even if they were stopped by hand, `unless-stopped` ones
    /// unless they were (as Docker does after a daemon restart).
    func startByPolicyAfterRestart() async {
        for r in records.values where !r.isRunning && r.status != .removing && !r.autoRemove {
            let name = r.hostConfig["RestartPolicy"]?["Name"]?.stringValue ?? ""
            guard name == "always" || (name == "unless-stopped" && !r.manuallyStopped) else { continue }
            var record = r
            record.manuallyStopped = false
            records[r.id] = record
            do { try await start(r.id) } catch {
                logger.warning(
                    "restart policy could not start the container after a daemon restart",
                    metadata: [LogKey.container: "\(r.id)", LogKey.error: "\(error.message)"])
            }
        }
    }
}
