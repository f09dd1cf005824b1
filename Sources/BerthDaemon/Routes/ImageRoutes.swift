import BerthAPI
import BerthCore
import BerthImage
import BerthOS
import Glibc

enum ImageRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let images = d.images
        t.add("GET", "/images/json") { req in
            .json(try await images.list(all: req.bool("all"), filters: try req.filters()))
        }
        t.add("GET", "/images/{name*}/json") { req in .json(try await images.inspect(req.param("name"))) }
        t.add("GET", "/images/{name*}/history") { req in .json(try await images.history(req.param("name"))) }
        t.add("POST", "/images/{name*}/tag") { req in
            try await images.tag(req.param("name"), repo: req.query("repo") ?? "", tag: req.query("tag"))
            return HTTPResponse(status: 201)
        }
        t.add("DELETE", "/images/{name*}") { req in
            .json(try await images.delete(req.param("name"), force: req.bool("force")))
        }
        t.add("POST", "/auth") { req in .json(try await images.login(try Routes.jsonBody(req, required: true))) }
        t.add("GET", "/images/search") { req in
            .json(
                try await images.search(
                    term: req.query("term") ?? "", limit: Int(req.query("limit") ?? "") ?? 25,
                    credentials: req.header("X-Registry-Auth").flatMap(RegistryCredentials.init(header:))))
        }
        t.add("GET", "/images/get") { req in
            try await images.save(names: req.query["names"] ?? [], tmpDir: d.configuration.root + "/tmp")
        }
        t.add("GET", "/images/{name*}/get") { req in
            try await images.save(names: [req.param("name")], tmpDir: d.configuration.root + "/tmp")
        }
        t.add("POST", "/images/load") { req in
            try await images.load(body: req.body, quiet: req.bool("quiet"), tmpDir: d.configuration.root + "/tmp")
        }
        t.add("POST", "/images/{name*}/push") { req in
            try await images.push(
                name: req.param("name"), tag: req.query("tag"),
                credentials: req.header("X-Registry-Auth").flatMap(RegistryCredentials.init(header:)))
        }
        t.add("POST", "/images/prune") { req in .json(try await images.prune(filters: try req.filters())) }
        t.add("POST", "/images/create") { req in
            if let src = req.query("fromSrc") { return try await importImage(req, d, source: src) }
            let from = req.query("fromImage") ?? ""
            guard !from.isEmpty else { throw BerthError.invalidArgument("fromImage or fromSrc is required") }
            let tag = req.query("tag").flatMap { $0.isEmpty ? nil : $0 }
            // The docker CLI sends a digest as the tag.
            let name = tag.map { $0.hasPrefix("sha256:") ? "\(from)@\($0)" : "\(from):\($0)" } ?? from
            return try await images.pull(
                reference: name, platform: req.query("platform"),
                credentials: req.header("X-Registry-Auth").flatMap(RegistryCredentials.init(header:)))
        }
    }

    /// `docker import`: the body is the tar; `repo` may carry `name:tag`.
    static func importImage(_ req: HTTPRequest, _ d: Daemon, source: String) async throws(BerthError) -> HTTPResponse {
        guard source == "-" else { throw .invalidArgument("importing from a URL is not supported: \(source)") }
        var reference: ImageReference? = nil
        if let repo = req.query("repo"), !repo.isEmpty {
            let tag = req.query("tag").flatMap { $0.isEmpty ? nil : $0 }
            reference = try ImageReference(parsing: tag.map { "\(repo):\($0)" } ?? repo)
        }
        let changes = req.query["changes"] ?? []
        for line in changes { var scratch: JSONValue = .object([]); try ConfigChanges.apply(line, to: &scratch) }
        let tmp = d.configuration.root + "/tmp"
        try FileSystem.createDirectory(tmp)
        let path = "\(tmp)/import-\(Identifier.random().prefix(16)).tar"
        try FileSystem.writeFile(path, req.body, mode: 0o600)
        let message = req.query("message") ?? ""
        let ref = reference
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/json")],
            body: .stream { writer in
                defer { unlink(path) }
                do {
                    let record = try await ImageImporter(store: d.images.store).importTar(
                        path: path, reference: ref, changes: changes, message: message)
                    d.events.publish(
                        type: "image", action: "import", id: record.id,
                        attributes: ref.map { ["name": $0.description] } ?? [:])
                    try? await writer.write(
                        Array((JSONValue.object([("status", .string(record.id))]).serialized + "\n").utf8))
                } catch let error as BerthError {
                    try? await writer.write(Routes.streamError(error.message))
                } catch {
                    try? await writer.write(Routes.streamError("\(error)"))
                }
            })
    }
}
