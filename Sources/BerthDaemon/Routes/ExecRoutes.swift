import BerthAPI
import BerthCore

/// `docker exec`: create, start (hijacked, or detached), resize, inspect.
enum ExecRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let c = d.containers
        t.add("POST", "/containers/{id}/exec") { req in
            let body = try Routes.jsonBody(req, required: true)
            let id = try await c.createExec(container: req.param("id"), body: body)
            return .json(.object([("Id", .string(id))]), status: 201)
        }
        t.add("POST", "/exec/{id}/start") { req in
            let body = try Routes.jsonBody(req)
            let e = try await c.claimExec(
                req.param("id"), tty: body["Tty"]?.boolValue, consoleSize: body["ConsoleSize"])
            if body["Detach"]?.boolValue == true {
                try await c.launchExec(e)
                return HTTPResponse(status: 200)
            }
            let keys = try DetachKeys(e.detachKeys)
            let contentType =
                e.tty || req.apiVersion < APIVersion(1, 42)
                ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
            // Without an Upgrade header (docker-py's non-streaming start) the server answers 200 and streams.
            let subscription = e.output.subscribe()
            return HTTPResponse(
                status: 101, headers: [("Content-Type", contentType)],
                body: .hijack { conn in
                    do throws(BerthError) {
                        try await c.launchExec(e)
                    } catch {
                        // As Docker: the failure is written to the stream; the exit code is in the inspect.
                        let text = Array(
                            ("OCI runtime exec failed: exec failed: unable to start container process: "
                                + error.message + ": unknown\r\n").utf8)
                        try? await conn.write(e.tty ? text : ContainerService.frame(1, text))
                        await conn.close()
                        return
                    }
                    await ContainerService.pump(
                        subscription: subscription, tty: e.tty, stdin: e.attachStdin, stdout: e.attachStdout,
                        stderr: e.attachStderr, stdinOnce: true, detachKeys: keys, connection: conn,
                        session: { await c.execSession(e.id) },
                        // A client inspects the exec as soon as its stream ends: the exit code must be there.
                        beforeClose: { await c.waitForExecExit(e.id) })
                })
        }
        t.add("POST", "/exec/{id}/resize") { req in
            try await c.resizeExec(req.param("id"), height: req.query("h"), width: req.query("w"))
            return HTTPResponse(status: 200)
        }
        t.add("GET", "/exec/{id}/json") { req in .json(try await c.execJSON(req.param("id"))) }
    }
}
