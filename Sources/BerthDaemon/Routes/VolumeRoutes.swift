import BerthAPI
import BerthCore

/// `docker volume`: create, list, inspect, remove, prune.
enum VolumeRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let c = d.containers
        let volumes = c.volumes
        t.add("POST", "/volumes/create") { req in
            let body = try Routes.jsonBody(req)
            let r = try await volumes.create(
                name: body["Name"]?.stringValue, driver: body["Driver"]?.stringValue ?? "",
                options: body["DriverOpts"]?.stringMap ?? [:], labels: body["Labels"]?.stringMap ?? [:])
            return .json(await volumes.json(r), status: 201)
        }
        t.add("GET", "/volumes") { req in .json(try await c.listVolumes(filters: try req.filters())) }
        t.add("GET", "/volumes/{name}") { req in
            let r = try await volumes.get(req.param("name"))
            return .json(await volumes.json(r, usage: true, refCount: await c.volumeUsers(r.name).count))
        }
        t.add("DELETE", "/volumes/{name}") { req in
            try await c.removeVolume(req.param("name"), force: req.bool("force"))
            return .noContent()
        }
        t.add("POST", "/volumes/prune") { req in .json(try await c.pruneVolumes(filters: try req.filters())) }
    }
}
