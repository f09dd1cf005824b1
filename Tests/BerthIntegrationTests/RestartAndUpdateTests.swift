import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// Restart policies (also across a daemon restart), `update` and `rename`.
@Suite(.serialized)
struct RestartAndUpdateTests {
    static func state(_ d: TestDaemon, _ id: String) throws -> JSONValue? {
        try d.client.checked("GET", "/containers/\(id)/json").json
    }

    /// Polls until `done` holds for the container's inspect (at most ~10 s).
    static func waitUntil(_ d: TestDaemon, _ id: String, _ done: (JSONValue?) -> Bool) throws -> JSONValue? {
        var last: JSONValue? = nil
        for _ in 0..<200 {
            last = try state(d, id)
            if done(last) { return last }
            usleep(50_000)
        }
        return last
    }

    static func policy(_ name: String, _ max: Int = 0) -> [(String, JSONValue)] {
        [("RestartPolicy", .object([("Name", .string(name)), ("MaximumRetryCount", .int(max))]))]
    }

    @Test func policiesRestartWithBackOffAndStopWhenAsked() async throws {
        try await TestDaemon.with { d in
            // on-failure:2 gives two restarts, then the container stays exited.
            let failing = try d.create(["sh", "-c", "exit 3"], host: Self.policy("on-failure", 2))
            try d.client.checked("POST", "/containers/\(failing)/start")
            let done = try Self.waitUntil(d, failing) {
                $0?["RestartCount"]?.intValue == 2 && $0?["State"]?["Status"]?.stringValue == "exited"
            }
            #expect(done?["RestartCount"]?.intValue == 2)
            #expect(done?["State"]?["ExitCode"]?.intValue == 3)
            // on-failure leaves a clean exit alone.
            let clean = try d.create(["true"], host: Self.policy("on-failure"))
            try d.client.checked("POST", "/containers/\(clean)/start")
            _ = try d.client.checked("POST", "/containers/\(clean)/wait")
            usleep(500_000)
            #expect(try Self.state(d, clean)?["RestartCount"]?.intValue == 0)
            // always: restarted again and again, until stopped through the API.
            let always = try d.create(["sh", "-c", "sleep 0.1"], host: Self.policy("always"))
            try d.client.checked("POST", "/containers/\(always)/start")
            let restarted = try Self.waitUntil(d, always) { ($0?["RestartCount"]?.intValue ?? 0) >= 3 }
            #expect((restarted?["RestartCount"]?.intValue ?? 0) >= 3)
            try d.client.checked("POST", "/containers/\(always)/stop", query: [("t", "1")])
            let stopped = try Self.waitUntil(d, always) { $0?["State"]?["Running"]?.boolValue == false }
            let count = stopped?["RestartCount"]?.intValue ?? -1
            usleep(800_000)
            #expect(try Self.state(d, always)?["RestartCount"]?.intValue == count)
            #expect(try Self.state(d, always)?["State"]?["Status"]?.stringValue == "exited")
            for id in [failing, clean, always] {
                try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
            }
            // --rm and a policy do not go together.
            let body: JSONValue = .object([
                ("Image", .string("busybox")), ("Cmd", .strings(["true"])),
                ("HostConfig", .object(Self.policy("always") + [("AutoRemove", .bool(true))])),
            ])
            #expect(try d.client.call("POST", "/containers/create", body: Array(body.serialized.utf8)).status == 400)
        }
    }

    /// After a daemon restart: `always` runs again even after a manual stop, `unless-stopped` only if it was not
    /// stopped by hand, and one whose process died while the daemon was down is restarted by its policy.
    @Test func policiesAfterADaemonRestart() async throws {
        try await TestDaemon.with { d in
            let always = try d.create(["sleep", "60"], host: Self.policy("always"))
            let unless = try d.create(["sleep", "60"], host: Self.policy("unless-stopped"))
            let died = try d.create(["sleep", "60"], host: Self.policy("unless-stopped"))
            for id in [always, unless, died] { try d.client.checked("POST", "/containers/\(id)/start") }
            for id in [always, unless] { try d.client.checked("POST", "/containers/\(id)/stop", query: [("t", "0")]) }
            let pid = try #require(try Self.state(d, died)?["State"]?["Pid"]?.intValue)
            d.stop()
            kill(Int32(pid), SIGKILL)
            usleep(300_000)
            try d.start()
            let a = try Self.waitUntil(d, always) { $0?["State"]?["Running"]?.boolValue == true }
            #expect(a?["State"]?["Running"]?.boolValue == true)
            let b = try Self.waitUntil(d, died) {
                $0?["State"]?["Running"]?.boolValue == true && ($0?["RestartCount"]?.intValue ?? 0) >= 1
            }
            #expect(b?["State"]?["Running"]?.boolValue == true)
            #expect((b?["RestartCount"]?.intValue ?? 0) >= 1)
            #expect(try Self.state(d, unless)?["State"]?["Running"]?.boolValue == false)
            for id in [always, unless, died] {
                try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
            }
        }
    }

    /// `update` changes a running container's cgroup and its HostConfig; a limit below the usage is refused and
    /// nothing changes. `rename` renames, also for name resolution.
    @Test func updateAndRename() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sleep", "60"], host: [("Memory", .int(64 << 20))], name: "upd1")
            try d.client.checked("POST", "/containers/\(id)/start")
            let mem = "/sys/fs/cgroup/memory/berth/\(id)/memory.limit_in_bytes"
            let pids = "/sys/fs/cgroup/pids/berth/\(id)/pids.max"
            let body = "{\"Memory\":\(128 << 20),\"PidsLimit\":40}"
            try d.client.checked("POST", "/containers/\(id)/update", body: Array(body.utf8))
            #expect(try String(contentsOfFile: mem, encoding: .utf8).trimmingSpaces == String(128 << 20))
            #expect(try String(contentsOfFile: pids, encoding: .utf8).trimmingSpaces == "40")
            #expect(try Self.state(d, id)?["HostConfig"]?["Memory"]?.intValue == 128 << 20)
            // 30 MB in the container's tmpfs count as its memory: a 10 MB limit cannot hold.
            _ = try CLITests.berth(d, ["exec", "upd1", "dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=30"])
            let refused = try d.client.call(
                "POST", "/containers/\(id)/update", body: Array("{\"Memory\":\(10 << 20)}".utf8))
            #expect(refused.status == 500)
            #expect(refused.json?["message"]?.stringValue?.contains("Cannot update container") == true)
            #expect(try String(contentsOfFile: mem, encoding: .utf8).trimmingSpaces == String(128 << 20))
            #expect(try Self.state(d, id)?["HostConfig"]?["Memory"]?.intValue == 128 << 20)
            #expect(
                try d.client.call("POST", "/containers/\(id)/update", body: Array("{\"Memory\":1000}".utf8)).status
                    == 400)
            // Rename: the old name is free, the new one taken; the same name or a taken one is refused.
            try d.client.checked("POST", "/containers/upd1/rename", query: [("name", "upd2")])
            #expect(try d.client.call("GET", "/containers/upd1/json").status == 404)
            #expect(try Self.state(d, "upd2")?["Name"]?.stringValue == "/upd2")
            #expect(try d.client.call("POST", "/containers/upd2/rename", query: [("name", "upd2")]).status == 400)
            let other = try d.create(["true"], name: "taken")
            #expect(try d.client.call("POST", "/containers/upd2/rename", query: [("name", "taken")]).status == 409)
            #expect(try d.client.call("POST", "/containers/upd2/rename", query: [("name", "bad name")]).status == 400)
            for c in [id, other] { try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")]) }
        }
    }

    /// A daemon stopped with SIGTERM (as systemd stops it) leaves its containers running; the next one adopts
    /// them.
    @Test func containersOutliveAGracefulDaemonStop() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sleep", "60"])
            try d.client.checked("POST", "/containers/\(id)/start")
            let pid = try #require(try Self.state(d, id)?["State"]?["Pid"]?.intValue)
            d.stop()
            usleep(300_000)
            #expect(kill(Int32(pid), 0) == 0)
            try d.start()
            let after = try Self.state(d, id)
            #expect(after?["State"]?["Running"]?.boolValue == true)
            #expect(after?["State"]?["Pid"]?.intValue == pid)
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }
}

/// Health checks: `--health-*` and an image's HEALTHCHECK, transitions, inspect, ps, events.
@Suite(.serialized)
struct HealthTests {
    @Test func transitionsFromStartingToUnhealthyToHealthy() async throws {
        try await TestDaemon.with { d in
            var r = try CLITests.berth(
                d,
                [
                    "run", "-d", "--name", "hc1", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
                    "--health-retries", "2", "busybox", "sleep", "60",
                ])
            #expect(r.status == 0)
            let health = { () throws -> JSONValue? in
                try d.client.checked("GET", "/containers/hc1/json").json?["State"]?["Health"]
            }
            #expect(try health()?["Status"]?.stringValue == "starting")
            var status = ""
            for _ in 0..<60 where status != "unhealthy" {
                usleep(100_000)
                status = try health()?["Status"]?.stringValue ?? ""
            }
            #expect(status == "unhealthy")
            #expect((try health()?["FailingStreak"]?.intValue ?? 0) >= 2)
            r = try CLITests.berth(d, ["ps", "--format", "{{.Status}}"])
            #expect(r.stdout.contains("(unhealthy)"))
            _ = try CLITests.berth(d, ["exec", "hc1", "sh", "-c", "echo fine > /tmp/ok"])
            for _ in 0..<60 where status != "healthy" {
                usleep(100_000)
                status = try health()?["Status"]?.stringValue ?? ""
            }
            #expect(status == "healthy")
            let log = try health()?["Log"]?.arrayValue ?? []
            #expect(
                log.count <= 5 && log.last?["ExitCode"]?.intValue == 0 && log.last?["Output"]?.stringValue == "fine\n")
            let healthy =
                try d.client.checked(
                    "GET", "/containers/json", query: [("filters", "{\"health\":[\"healthy\"]}")]
                ).json?.arrayValue ?? []
            #expect(healthy.count == 1)
            let events = try d.client.checked(
                "GET", "/events",
                query: [
                    ("since", "0"), ("until", String(Int(Date().timeIntervalSince1970) + 1)),
                    ("filters", "{\"event\":[\"health_status: healthy\"]}"),
                ])
            #expect(String(decoding: events.body, as: UTF8.self).contains("health_status: healthy"))
            _ = try CLITests.berth(d, ["rm", "-f", "hc1"])
        }
    }

    /// A probe that outlives its timeout fails; an image's HEALTHCHECK applies unless `--no-healthcheck`.
    @Test func timeoutsAndImageHealthchecks() async throws {
        try await TestDaemon.with { d in
            let check: JSONValue = .object([
                ("Test", .strings(["CMD", "sleep", "5"])), ("Interval", .int(200_000_000)),
                ("Timeout", .int(300_000_000)), ("Retries", .int(1)),
            ])
            let id = try d.create(["sleep", "60"], config: [("Healthcheck", check)])
            try d.client.checked("POST", "/containers/\(id)/start")
            var state: JSONValue? = nil
            for _ in 0..<60 where state?["Status"]?.stringValue != "unhealthy" {
                usleep(100_000)
                state = try d.client.checked("GET", "/containers/\(id)/json").json?["State"]?["Health"]
            }
            #expect(state?["Status"]?.stringValue == "unhealthy")
            #expect(state?["Log"]?.arrayValue?.first?["Output"]?.stringValue == "Health check exceeded timeout (300ms)")
            // A committed image carries the health check; --no-healthcheck turns it off.
            try d.client.checked("POST", "/commit", query: [("container", id), ("repo", "withcheck")])
            let plain = try CLITests.berth(d, ["run", "-d", "--no-healthcheck", "withcheck", "sleep", "60"])
            let inherits = try CLITests.berth(d, ["run", "-d", "withcheck", "sleep", "60"])
            let a = plain.stdout.trimmingSpaces
            let b = inherits.stdout.trimmingSpaces
            #expect(try d.client.checked("GET", "/containers/\(a)/json").json?["State"]?["Health"] == nil)
            #expect(try d.client.checked("GET", "/containers/\(b)/json").json?["State"]?["Health"] != nil)
            for c in [id, a, b] { try d.client.checked("DELETE", "/containers/\(c)", query: [("force", "1")]) }
        }
    }
}
