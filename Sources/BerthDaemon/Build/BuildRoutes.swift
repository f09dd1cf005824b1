import BerthAPI
import BerthBuild
import BerthCore
import BerthImage

/// `POST /build` (Docker's classic builder protocol) and `POST /build/prune`.
enum BuildRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let images = d.images
        t.add("POST", "/build") { req in
            let options = try options(req)
            return images.build(
                options: options, context: req.body, credentials: credentials(req.header("X-Registry-Config")),
                tmpDir: d.configuration.root + "/tmp")
        }
        t.add("POST", "/build/prune") { _ in
            let removed = await images.buildCache.prune { _ in false }
            return .json(
                .object([("CachesDeleted", .strings([])), ("SpaceReclaimed", .int(0)), ("Removed", .int(removed))]))
        }
    }

    /// The query of `POST /build` as `BuildOptions`; bad values are a 400 before anything streams.
    static func options(_ req: HTTPRequest) throws(BerthError) -> BuildOptions {
        if let remote = req.query("remote"), !remote.isEmpty {
            throw BerthError(
                .unsupported, "building from a remote context (\(remote)) is not supported: send the context as a tar")
        }
        if req.query("version") == "2" {
            throw BerthError(
                .unsupported, "BuildKit (version=2) is not supported by this daemon: use the classic builder")
        }
        var o = BuildOptions()
        if let f = req.query("dockerfile"), !f.isEmpty { o.dockerfile = f }
        o.tags = (req.query["t"] ?? []).filter { !$0.isEmpty }
        for tag in o.tags {
            do { _ = try ImageReference(parsing: tag) } catch {
                throw .invalidArgument("invalid reference format: \(tag)")
            }
        }
        if let text = req.query("buildargs"), !text.isEmpty {
            guard case .object(let members)? = try? JSONValue.parse(text) else {
                throw .invalidArgument("invalid buildargs: \(text)")
            }
            for (k, v) in members { o.buildArgs[k] = v.isNull ? .some(nil) : .some(v.stringValue ?? v.serialized) }
        }
        if let text = req.query("labels"), !text.isEmpty {
            guard case .object(let members)? = try? JSONValue.parse(text) else {
                throw .invalidArgument("invalid labels: \(text)")
            }
            for (k, v) in members { o.labels[k] = v.stringValue ?? "" }
        }
        if let text = req.query("cachefrom"), !text.isEmpty {
            guard let list = (try? JSONValue.parse(text))?.stringArray else {
                throw .invalidArgument("invalid cachefrom: \(text)")
            }
            o.cacheFrom = list
        }
        o.target = req.query("target").flatMap { $0.isEmpty ? nil : $0 }
        o.noCache = req.bool("nocache")
        o.pull = req.bool("pull")
        o.quiet = req.bool("q")
        let network = req.query("networkmode") ?? ""
        o.network = network == "default" ? "" : network
        o.platform = req.query("platform").flatMap { $0.isEmpty ? nil : $0 }
        return o
    }

    /// `X-Registry-Config`: base64url JSON of registry host → auth config.
    static func credentials(_ header: String?) -> [String: RegistryCredentials] {
        guard let header, !header.isEmpty, let bytes = Base64.decodeURLSafe(header),
            case .object(let members)? = try? JSONValue.parse(bytes: bytes)
        else { return [:] }
        var out: [String: RegistryCredentials] = [:]
        for (host, auth) in members {
            let c = RegistryCredentials(
                username: auth["username"]?.stringValue ?? "", password: auth["password"]?.stringValue ?? "",
                identityToken: auth["identitytoken"]?.stringValue ?? "")
            if !c.username.isEmpty || !c.identityToken.isEmpty {
                let key = host.replacingPrefix("https://", "").replacingPrefix("http://", "")
                out[key.hasSuffix("/") ? String(key.dropLast()) : key] = c
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String, _ with: String) -> String {
        hasPrefix(prefix) ? with + dropFirst(prefix.count) : self
    }
}
