import BerthAPI
import BerthCore

enum NetworkRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let c = d.containers
        t.add("GET", "/networks") { req in .json(try await c.listNetworks(filters: try req.filters())) }
        t.add("GET", "/networks/{id}") { req in .json(try await c.inspectNetwork(req.param("id"))) }
        t.add("POST", "/networks/create") { req in
            let (id, warning) = try await c.createNetwork(try Routes.jsonBody(req, required: true))
            return .json(.object([("Id", .string(id)), ("Warning", .string(warning))]), status: 201)
        }
        t.add("DELETE", "/networks/{id}") { req in
            try await c.removeNetwork(req.param("id"))
            return .noContent()
        }
        t.add("POST", "/networks/{id}/connect") { req in
            let body = try Routes.jsonBody(req, required: true)
            guard let container = body["Container"]?.stringValue, !container.isEmpty else {
                throw BerthError.invalidArgument("Container is required")
            }
            try await c.connect(network: req.param("id"), container: container, config: body["EndpointConfig"])
            return HTTPResponse(status: 200)
        }
        t.add("POST", "/networks/{id}/disconnect") { req in
            let body = try Routes.jsonBody(req, required: true)
            guard let container = body["Container"]?.stringValue, !container.isEmpty else {
                throw BerthError.invalidArgument("Container is required")
            }
            try await c.disconnect(
                network: req.param("id"), container: container, force: body["Force"]?.boolValue ?? false)
            return HTTPResponse(status: 200)
        }
        t.add("POST", "/networks/prune") { _ in
            .json(.object([("NetworksDeleted", .strings(await c.pruneNetworks()))]))
        }
    }
}
