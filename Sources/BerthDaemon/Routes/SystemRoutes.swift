import BerthAPI
import BerthCore
import BerthOS
import Glibc

enum SystemRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let ping: Router.Handler = { _ in
            HTTPResponse(
                status: 200,
                headers: [
                    ("Content-Type", "text/plain; charset=utf-8"), ("Swarm", "inactive"),
                    ("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"),
                ], body: .bytes(Array("OK".utf8)))
        }
        t.add("GET", "/_ping", ping)
        t.add("HEAD", "/_ping", ping)
        t.add("GET", "/version") { _ in .json(d.versionJSON()) }
        t.add("GET", "/info") { _ in .json(await d.infoJSON()) }
        t.add("GET", "/system/df") { req in
            let types = req.query["type"] ?? []
            func wants(_ t: String) -> Bool { types.isEmpty || types.contains(t) }
            var o: JSONValue = .object([])
            if wants("image") {
                let (size, rows) = await d.images.diskUsage()
                o["LayersSize"] = .int(size)
                o["Images"] = .array(rows)
            }
            if wants("container") { o["Containers"] = .array(try await d.containers.containersDiskUsage()) }
            if wants("volume") { o["Volumes"] = .array(await d.containers.volumesDiskUsage()) }
            if wants("build-cache") { o["BuildCache"] = .array([]) }
            return .json(o)
        }
        t.add("GET", "/events") { req in
            let filters = try req.filters()
            let since = try parseTime(req.query("since"))
            let until = try parseTime(req.query("until"))
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: .stream { writer in
                    let (past, live) = d.events.subscribe()
                    func matches(_ e: EventBus.Event) -> Bool {
                        if let types = filters["type"], !types.contains(e.type) { return false }
                        if let actions = filters["event"], !actions.contains(e.action) { return false }
                        if let ids = filters["container"],
                            e.type != "container"
                                || !ids.contains(where: { e.actorID.hasPrefix($0) || e.attributes["name"] == $0 })
                        {
                            return false
                        }
                        if let images = filters["image"],
                            !images.contains(where: { e.attributes["image"] == $0 || e.actorID == $0 })
                        {
                            return false
                        }
                        if let labels = filters["label"] {
                            for l in labels {
                                let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
                                guard let v = e.attributes[kv[0]], kv.count == 1 || v == kv[1] else { return false }
                            }
                        }
                        return true
                    }
                    func send(_ e: EventBus.Event) async -> Bool {
                        guard matches(e) else { return true }
                        do { try await writer.write(Array((e.json.serialized + "\n").utf8)) } catch { return false }
                        return true
                    }
                    let now = Clock.nowNanos()
                    if let since {
                        for e in past where e.timeNano >= since {
                            if let until, e.timeNano > until { break }
                            guard await send(e) else { return }
                        }
                    }
                    if let until, until <= now { return }
                    let deadline = until
                    // Follow until the client goes or `until` passes.
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await e in live {
                                if let deadline, e.timeNano > deadline { return }
                                guard await send(e) else { return }
                            }
                        }
                        group.addTask { await writer.waitClosed() }
                        if let deadline {
                            group.addTask {
                                try? await Task.sleep(nanoseconds: UInt64(max(0, deadline - Clock.nowNanos())))
                            }
                        }
                        await group.next()
                        group.cancelAll()
                    }
                })
        }
    }

    /// Docker's `since`/`until`: unix seconds with an optional fraction, or RFC 3339.
    static func parseTime(_ text: String?) throws(BerthError) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        if let d = Double(text) { return Int64(d * 1e9) }
        if let n = Clock.parseRFC3339(text) { return n }
        throw .invalidArgument("invalid time value: \(text)")
    }
}
