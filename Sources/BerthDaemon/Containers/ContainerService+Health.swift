import BerthCore
import BerthOS
import BerthRuntime

/// A container's health as `State.Health` shows it.
struct HealthState: Sendable {
    var status = "starting"
    var failingStreak = 0
    /// The last five probes: start and end (nanoseconds), exit code, output.
    var log: [(start: Int64, end: Int64, exitCode: Int, output: String)] = []

    var json: JSONValue {
        .object([
            ("Status", .string(status)), ("FailingStreak", .int(failingStreak)),
            (
                "Log",
                .array(
                    log.map {
                        .object([
                            ("Start", .string(Clock.rfc3339Nano($0.start))),
                            ("End", .string(Clock.rfc3339Nano($0.end))),
                            ("ExitCode", .int($0.exitCode)), ("Output", .string($0.output)),
                        ])
                    })
            ),
        ])
    }
}

/// HEALTHCHECK: a probe run as an exec in the container at each interval, with Docker's rules for the
/// timeout, the retries and the start period; status changes become `health_status` events.
extension ContainerService {
    struct HealthConfig: Sendable {
        var test: [String]
        var interval: Double
        var timeout: Double
        var startPeriod: Double
        var startInterval: Double
        var retries: Int
    }

    /// The container's health check, nil when it has none (or `NONE`).
    static func healthConfig(_ r: ContainerRecord) -> HealthConfig? {
        guard let h = r.config["Healthcheck"], !h.isNull else { return nil }
        var test = h["Test"]?.stringArray ?? []
        guard let kind = test.first, kind != "NONE" else { return nil }
        switch kind {
        case "CMD": test.removeFirst()
        case "CMD-SHELL": test = ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")]
        default: return nil
        }
        guard !test.isEmpty else { return nil }
        func seconds(_ key: String, _ fallback: Double) -> Double {
            let n = h[key]?.int64Value ?? 0
            return n > 0 ? Double(n) / 1e9 : fallback
        }
        let retries = h["Retries"]?.intValue ?? 0
        return HealthConfig(
            test: test, interval: seconds("Interval", 30), timeout: seconds("Timeout", 30),
            startPeriod: seconds("StartPeriod", 0), startInterval: seconds("StartInterval", 5),
            retries: retries > 0 ? retries : 3)
    }

    /// Starts the probes of a container that just started.
    func startHealthChecks(_ id: String) {
        guard let record = records[id], let config = Self.healthConfig(record) else {
            health[id] = nil
            return
        }
        health[id] = HealthState()
        healthTasks[id]?.cancel()
        let startedAt = record.startedAt
        healthTasks[id] = Task { [weak self] in
            while !Task.isCancelled {
                let inStart = Double(Clock.nowNanos() - startedAt) / 1e9 < config.startPeriod
                try? await Task.sleep(
                    nanoseconds: UInt64((inStart ? min(config.interval, config.startInterval) : config.interval) * 1e9))
                if Task.isCancelled { return }
                guard let self, await self.probe(id, config: config, startedAt: startedAt) else { return }
            }
        }
    }

    func stopHealthChecks(_ id: String) {
        healthTasks[id]?.cancel()
        healthTasks[id] = nil
    }

    /// One probe. Returns false when the container no longer runs.
    func probe(_ id: String, config: HealthConfig, startedAt: Int64) async -> Bool {
        guard let record = records[id], record.status == .running else { return records[id]?.isRunning ?? false }
        let start = Clock.nowNanos()
        var code = -1
        var output = ""
        do {
            let execID = try createExec(
                container: id,
                body: .object([
                    ("Cmd", .strings(config.test)), ("AttachStdout", .bool(true)), ("AttachStderr", .bool(true)),
                ]))
            let exec = try claimExec(execID, tty: nil, consoleSize: nil)
            let stream = exec.output.subscribe()
            try await launchExec(exec)
            let collector = Task { () -> [UInt8] in
                var bytes: [UInt8] = []
                for await chunk in stream where bytes.count < 4096 { bytes += chunk.bytes.prefix(4096 - bytes.count) }
                return bytes
            }
            let deadline = start + Int64(config.timeout * 1e9)
            while execs[execID]?.exitCode == nil, Clock.nowNanos() < deadline {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            if let c = execs[execID]?.exitCode {
                code = Int(c)
                output = String(decoding: await collector.value, as: UTF8.self)
            } else {
                execs[execID]?.session?.signal(9)
                collector.cancel()
                let t = config.timeout
                let text = t < 1 ? "\(Int((t * 1000).rounded()))ms" : t == t.rounded() ? "\(Int(t))s" : "\(t)s"
                output = "Health check exceeded timeout (\(text))"
            }
            execs[execID] = nil
        } catch {
            output = error.message
        }
        guard var state = health[id], records[id]?.status == .running else { return records[id]?.isRunning ?? false }
        state.log.append((start, Clock.nowNanos(), code, output))
        if state.log.count > 5 { state.log.removeFirst(state.log.count - 5) }
        let previous = state.status
        if code == 0 {
            state.failingStreak = 0
            state.status = "healthy"
        } else if Double(start - startedAt) / 1e9 >= config.startPeriod || previous != "starting" {
            // Failures in the start period do not count.
            state.failingStreak += 1
            if state.failingStreak >= config.retries { state.status = "unhealthy" }
        }
        health[id] = state
        if state.status != previous, let r = records[id] { emit("health_status: " + state.status, r) }
        return true
    }
}
