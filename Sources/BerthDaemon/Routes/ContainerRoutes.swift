import BerthAPI
import BerthCgroups
import BerthCore
import BerthImage
import BerthOS
import Glibc

enum ContainerRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let c = d.containers
        t.add("POST", "/containers/create") { req in
            let body = try Routes.jsonBody(req, required: true)
            let (id, warnings) = try await c.create(name: req.query("name"), body: body)
            return .json(.object([("Id", .string(id)), ("Warnings", .strings(warnings))]), status: 201)
        }
        t.add("GET", "/containers/json") { req in
            .json(try await c.list(all: req.bool("all"), limit: try req.int("limit"), filters: try req.filters()))
        }
        t.add("GET", "/containers/{id}/json") { req in .json(try await c.inspect(req.param("id"))) }
        t.add("POST", "/containers/{id}/start") { req in
            try await c.start(req.param("id"), byUser: true)
            return .noContent()
        }
        t.add("POST", "/containers/{id}/stop") { req in
            try await c.stop(
                req.param("id"), timeout: try req.int("t") ?? req.int("timeout"), signal: req.query("signal"))
            return .noContent()
        }
        t.add("POST", "/containers/{id}/restart") { req in
            try await c.restart(
                req.param("id"), timeout: try req.int("t") ?? req.int("timeout"), signal: req.query("signal"))
            return .noContent()
        }
        t.add("POST", "/containers/{id}/kill") { req in
            try await c.kill(req.param("id"), signal: req.query("signal"))
            return .noContent()
        }
        t.add("DELETE", "/containers/{id}") { req in
            try await c.remove(req.param("id"), force: req.bool("force"), removeVolumes: req.bool("v"))
            return .noContent()
        }
        t.add("POST", "/containers/{id}/wait") { req in
            let condition = req.query("condition").flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
            guard ["not-running", "next-exit", "removed"].contains(condition) else {
                throw BerthError.invalidArgument("invalid condition: \"\(condition)\"")
            }
            let ticket = try await c.registerWait(req.param("id"), condition: condition)
            // Headers go out at once: `docker run` waits for them before it starts the container.
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: .stream { writer in
                    let code = await withTaskGroup(of: Int32?.self) { group in
                        group.addTask { await ticket.value }
                        group.addTask {
                            await writer.waitClosed(); return nil
                        }
                        let first = await group.next() ?? nil
                        group.cancelAll()
                        return first
                    }
                    guard let code else { return }
                    let body: JSONValue = .object([("StatusCode", .int(code)), ("Error", .null)])
                    try? await writer.write(Array((body.serialized + "\n").utf8))
                })
        }
        t.add("GET", "/containers/{id}/logs") { req in
            let record = try await c.lookup(req.param("id"))
            var o = ContainerService.LogOptions()
            o.stdout = req.bool("stdout")
            o.stderr = req.bool("stderr")
            guard o.stdout || o.stderr else {
                throw BerthError.invalidArgument("You must choose at least one stream")
            }
            o.follow = req.bool("follow")
            o.timestamps = req.bool("timestamps")
            o.since = try SystemRoutes.parseTime(req.query("since")) ?? 0
            o.until = try SystemRoutes.parseTime(req.query("until")) ?? 0
            if let tail = req.query("tail"), tail != "all", !tail.isEmpty {
                guard let n = Int(tail) else { throw BerthError.invalidArgument("invalid tail value: \(tail)") }
                o.tail = n < 0 ? nil : n
            }
            let tty = record.tty
            let contentType =
                tty || req.apiVersion < APIVersion(1, 42)
                ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            let options = o
            return HTTPResponse(
                status: 200, headers: [("Content-Type", contentType)],
                body: .stream { writer in
                    await c.streamLogs(id: record.id, tty: tty, options: options, to: writer)
                })
        }
        t.add("POST", "/containers/{id}/attach") { req in
            let record = try await c.lookup(req.param("id"))
            guard let output = await c.output(for: record.id) else {
                throw BerthError.conflict("container \(record.id) is being removed")
            }
            let tty = record.tty
            let stdin = req.bool("stdin") && (record.config["OpenStdin"]?.boolValue ?? false)
            let stdout = req.bool("stdout")
            let stderr = req.bool("stderr")
            let once = record.config["StdinOnce"]?.boolValue ?? false
            let detachKeys = try DetachKeys(req.query("detachKeys") ?? "")
            let contentType =
                tty || req.apiVersion < APIVersion(1, 42)
                ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            return HTTPResponse(
                status: 101, headers: [("Content-Type", contentType)],
                body: .hijack { conn in
                    await c.attach(
                        id: record.id, tty: tty, stdin: stdin, stdout: stdout, stderr: stderr, stdinOnce: once,
                        detachKeys: detachKeys, output: output, connection: conn)
                })
        }
        t.add("POST", "/containers/{id}/pause") { req in
            try await c.pause(req.param("id"))
            return .noContent()
        }
        t.add("POST", "/containers/{id}/unpause") { req in
            try await c.unpause(req.param("id"))
            return .noContent()
        }
        t.add("GET", "/containers/{id}/top") { req in
            .json(try await c.top(req.param("id"), psArgs: req.query("ps_args") ?? "-ef"))
        }
        t.add("GET", "/containers/{id}/stats") { req in
            let ref = req.param("id")
            _ = try await c.lookup(ref)
            let stream = req.query("stream").map { $0 == "1" || $0 == "true" } ?? true
            let oneShot = req.bool("one-shot")
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: .stream { writer in
                    var previous: (stats: CgroupStats?, system: UInt64, read: Int64)?
                    if !stream, !oneShot, let (_, s, _) = try? await c.statsSample(ref) {
                        // One document with both samples, as Docker gives for stream=false.
                        previous = (s, ContainerService.systemCPUNanos(), Clock.nowNanos())
                        try? await Task.sleep(nanoseconds: 250_000_000)
                    }
                    while !writer.isClosed {
                        guard let (record, s, nets) = try? await c.statsSample(ref) else { return }
                        let now = (s, ContainerService.systemCPUNanos(), Clock.nowNanos())
                        let doc = ContainerService.statsJSON(
                            record: record, stats: now.0, networks: nets, system: now.1, read: now.2,
                            previous: previous)
                        do { try await writer.write(Array((doc.serialized + "\n").utf8)) } catch { return }
                        if !stream || s == nil { return }
                        previous = now
                        try? await Task.sleep(nanoseconds: 1_000_000_000)
                    }
                })
        }
        t.add("HEAD", "/containers/{id}/archive") { req in
            let stat = try await c.statPath(req.param("id"), path: try archivePath(req))
            return HTTPResponse(status: 200, headers: [("X-Docker-Container-Path-Stat", stat)])
        }
        t.add("GET", "/containers/{id}/archive") { req in
            let (file, stat) = try await c.archivePath(
                req.param("id"), path: try archivePath(req), tmpDir: d.configuration.root + "/tmp")
            return HTTPResponse(
                status: 200,
                headers: [("Content-Type", "application/x-tar"), ("X-Docker-Container-Path-Stat", stat)],
                body: .stream { writer in
                    defer { unlink(file) }
                    await streamFile(file, to: writer)
                })
        }
        t.add("PUT", "/containers/{id}/archive") { req in
            let tmp = d.configuration.root + "/tmp"
            try FileSystem.createDirectory(tmp)
            let file = "\(tmp)/put-\(Identifier.random().prefix(16)).tar"
            try FileSystem.writeFile(file, req.body, mode: 0o600)
            defer { unlink(file) }
            try await c.extractArchive(
                req.param("id"), path: try archivePath(req), archive: file,
                noOverwriteDirNonDir: req.bool("noOverwriteDirNonDir"))
            return HTTPResponse(status: 200)
        }
        t.add("POST", "/containers/{id}/rename") { req in
            try await c.rename(req.param("id"), to: req.query("name"))
            return .noContent()
        }
        t.add("POST", "/containers/{id}/update") { req in
            let warnings = try await c.update(req.param("id"), body: try Routes.jsonBody(req, required: true))
            return .json(.object([("Warnings", .strings(warnings))]))
        }
        t.add("POST", "/containers/prune") { req in .json(try await c.pruneContainers(filters: try req.filters())) }
        t.add("GET", "/containers/{id}/changes") { req in .json(try await c.changes(req.param("id"))) }
        t.add("POST", "/commit") { req in
            guard let ref = req.query("container"), !ref.isEmpty else {
                throw BerthError.invalidArgument("no container specified")
            }
            var reference: ImageReference? = nil
            if let repo = req.query("repo"), !repo.isEmpty {
                let tag = req.query("tag").flatMap { $0.isEmpty ? nil : $0 }
                reference = try ImageReference(parsing: tag.map { "\(repo):\($0)" } ?? repo)
            }
            let record = try await c.commit(
                ref, reference: reference, comment: req.query("comment") ?? "", author: req.query("author") ?? "",
                changes: req.query["changes"] ?? [],
                pause: req.query("pause").map { $0 != "0" && $0 != "false" } ?? true,
                config: try Routes.jsonBody(req))
            return .json(.object([("Id", .string(record.id))]), status: 201)
        }
        t.add("POST", "/containers/{id}/resize") { req in
            try await c.resize(req.param("id"), height: req.query("h"), width: req.query("w"))
            return HTTPResponse(status: 200)
        }
        t.add("GET", "/containers/{id}/export") { req in
            let path = try await c.exportTar(req.param("id"), tmpDir: d.configuration.root + "/tmp")
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/x-tar")],
                body: .stream { writer in
                    defer { unlink(path) }
                    await streamFile(path, to: writer)
                })
        }
    }

    /// The `path` query of the archive endpoints (required, absolute).
    static func archivePath(_ req: HTTPRequest) throws(BerthError) -> String {
        guard let path = req.query("path"), !path.isEmpty else { throw .invalidArgument("path is required") }
        return path.hasPrefix("/") ? path : "/" + path
    }

    /// Streams a file's bytes to the client.
    static func streamFile(_ path: String, to writer: any StreamWriter) async {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            do { try await writer.write(Array(buf[0..<n])) } catch { return }
        }
    }
}
