import BerthCore
import BerthImage
import BerthLua
import BerthOS

/// Image operations of the API: list, inspect, tag, delete (checking the containers that use an image), import.
struct ImageService: Sendable {
    let store: ImageStore
    let containers: ContainerService
    let events: EventBus
    let hooks: HookEngine
    /// Where registry transfers run.
    let transfers: any BlockingRunner
    /// Insecure registries, `certs.d`, download concurrency (config.lua's `registry`).
    let registry: EngineConfiguration.Registry
    /// The builder's cache index.
    let buildCache: BuildCache

    func summary(_ r: ImageRecord) -> JSONValue {
        let created = Clock.parseRFC3339(r.config["created"]?.stringValue ?? "") ?? 0
        return .object([
            ("Id", .string(r.id)), ("ParentId", .string(r.parent)), ("RepoTags", .strings(r.repoTags)),
            ("RepoDigests", .strings(r.repoDigests)), ("Created", .int(created / 1_000_000_000)),
            ("Size", .int(r.size)),
            ("SharedSize", .int(-1)), ("VirtualSize", .int(r.size)),
            ("Labels", .map(r.containerConfig["Labels"]?.stringMap ?? [:])),
            ("Containers", .int(-1)),
        ])
    }

    func list(all: Bool, filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["reference", "dangling", "label", "before", "since"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        var rows = await store.all()
        let parents = Set(rows.map(\.parent))
        // Intermediate images (untagged parents of other images, made by builds) show only with `all`, as do
        // untagged images without layers (the one `FROM scratch` stands for).
        func intermediate(_ r: ImageRecord) -> Bool {
            r.repoTags.isEmpty && (parents.contains(r.id) || r.layers.isEmpty)
        }
        if !all { rows = rows.filter { !intermediate($0) } }
        if let dangling = filters["dangling"]?.first {
            let wanted = dangling == "true" || dangling == "1"
            rows = rows.filter { ($0.repoTags.isEmpty && !intermediate($0)) == wanted }
        }
        if let refs = filters["reference"] {
            rows = rows.filter { r in
                r.repoTags.contains { tag in
                    refs.contains { Self.glob($0, tag) || Self.glob($0, Self.repository(of: tag)) }
                }
            }
        }
        if let labels = filters["label"] {
            rows = rows.filter { r in
                let l = r.containerConfig["Labels"]?.stringMap ?? [:]
                return labels.allSatisfy { f in
                    let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                    guard let v = l[kv[0]] else { return false }
                    return kv.count == 1 || v == kv[1]
                }
            }
        }
        return .array(rows.map(summary))
    }

    /// `busybox` for `busybox:latest`, `localhost:5000/a/b` for `localhost:5000/a/b:v1` (a `:` before the last
    /// `/` is a registry port, not a tag).
    static func repository(of tag: String) -> String {
        guard let colon = tag.lastIndex(of: ":") else { return tag }
        if let slash = tag.lastIndex(of: "/"), slash > colon { return tag }
        return String(tag[..<colon])
    }

    /// Go's `path.Match` wildcards for `reference` filters, as moby's `FamiliarMatch`: `*` is any run of
    /// characters other than `/`, `?` is one such character.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        func m(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == t.count }
            if p[i] == "*" {
                var k = j
                while true {
                    if m(i + 1, k) { return true }
                    guard k < t.count, t[k] != "/" else { return false }
                    k += 1
                }
            }
            return j < t.count && ((p[i] == "?" && t[j] != "/") || p[i] == t[j]) && m(i + 1, j + 1)
        }
        return m(0, 0)
    }

    func inspect(_ ref: String) async throws(BerthError) -> JSONValue {
        let r = try await store.resolve(ref)
        var config = r.containerConfig
        for key in ["Hostname", "Domainname", "User", "WorkingDir"] where config[key] == nil {
            config[key] = .string("")
        }
        for key in ["Env", "Cmd", "Entrypoint", "Labels", "OnBuild", "Volumes", "ExposedPorts"] where config[key] == nil
        { config[key] = .null }
        let comment: JSONValue = .string(r.config["history"]?.arrayValue?.last?["comment"]?.stringValue ?? "")
        let graphData: JSONValue = .map(await store.storage.metadata(id: r.topLayer ?? ""))
        let graph: JSONValue = .object([("Name", .string(store.storage.name)), ("Data", graphData)])
        let rootfs: JSONValue = .object([
            ("Type", .string("layers")), ("Layers", r.config["rootfs"]?["diff_ids"] ?? .array([])),
        ])
        let metadata: JSONValue = .object([("LastTagTime", .string(Clock.rfc3339Nano(r.lastTagTime)))])
        var o: JSONValue = .object([])
        o["Id"] = .string(r.id)
        o["RepoTags"] = .strings(r.repoTags)
        o["RepoDigests"] = .strings(r.repoDigests)
        o["Parent"] = .string(r.parent)
        o["Comment"] = comment
        o["Created"] = r.config["created"] ?? .string("")
        o["DockerVersion"] = .string("")
        o["Author"] = r.config["author"] ?? .string("")
        o["Config"] = config
        o["Architecture"] = r.config["architecture"] ?? .string("amd64")
        o["Os"] = r.config["os"] ?? .string("linux")
        o["Size"] = .int(r.size)
        o["VirtualSize"] = .int(r.size)
        o["GraphDriver"] = graph
        o["RootFS"] = rootfs
        o["Metadata"] = metadata
        return o
    }

    func tag(_ source: String, repo: String, tag: String?) async throws(BerthError) {
        let record = try await store.resolve(source)
        guard !repo.isEmpty else { throw .invalidArgument("repository name must have at least one component") }
        let ref = try ImageReference(parsing: tag.flatMap { $0.isEmpty ? nil : "\(repo):\($0)" } ?? repo)
        try await store.tag(id: record.id, reference: ref)
        events.publish(type: "image", action: "tag", id: record.id, attributes: ["name": ref.description])
    }

    /// `DELETE /images/{name}` with Docker's conflict rules.
    func delete(_ ref: String, force: Bool) async throws(BerthError) -> JSONValue {
        let record = try await store.resolve(ref)
        let users = await containers.usesImage(record.id)
        var result: [JSONValue] = []
        let byName = (try? ImageReference(parsing: ref)).map { record.repoTags.contains($0.description) } ?? false
        if byName, let name = try? ImageReference(parsing: ref).description, record.repoTags.count > 1 {
            _ = try await store.untag(name)
            events.publish(type: "image", action: "untag", id: record.id, attributes: ["name": name])
            return .array([.object([("Untagged", .string(name))])])
        }
        if let running = users.first(where: { $0.isRunning }) {
            throw .conflict(
                "conflict: unable to delete \(record.hex.prefix(12)) (cannot be forced) - image is being used by running container \(running.shortID)"
            )
        }
        if !byName, record.repoTags.count > 1, !force {
            throw .conflict(
                "conflict: unable to delete \(record.hex.prefix(12)) (must be forced) - image is referenced in multiple repositories"
            )
        }
        if let user = users.first, !force {
            if byName {
                throw .conflict(
                    "conflict: unable to remove repository reference \"\(ref)\" (must force) - container \(user.shortID) is using its referenced image \(record.hex.prefix(12))"
                )
            }
            throw .conflict(
                "conflict: unable to delete \(record.hex.prefix(12)) (must be forced) - image is being used by stopped container \(user.shortID)"
            )
        }
        for name in record.repoTags {
            _ = try await store.untag(name)
            result.append(.object([("Untagged", .string(name))]))
            events.publish(type: "image", action: "untag", id: record.id, attributes: ["name": name])
        }
        if users.isEmpty {
            try await store.delete(id: record.id)
            result.append(.object([("Deleted", .string(record.id))]))
            events.publish(type: "image", action: "delete", id: record.id, attributes: [:])
            result += await deleteUnusedParents(of: record)
            if hooks.handles(.delete) {
                hooks.notify(
                    .delete,
                    .object([
                        ("event", .string("delete")), ("id", .string(record.id)), ("tags", .strings(record.repoTags)),
                        ("size", .int(record.size)),
                    ]))
            }
        }
        return .array(result)
    }
}

extension ImageService {
    /// After an image is deleted: its parent too when nothing else needs it (untagged, no other child, no
    /// container), and so on up, as Docker deletes a build's intermediate images with its result.
    func deleteUnusedParents(of record: ImageRecord) async -> [JSONValue] {
        var out: [JSONValue] = []
        var next = record.parent
        while !next.isEmpty, let parent = await store.find(next), parent.repoTags.isEmpty {
            let all = await store.all()
            guard !all.contains(where: { $0.parent == parent.id }), await containers.usesImage(parent.id).isEmpty,
                (try? await store.delete(id: parent.id)) != nil
            else { break }
            out.append(.object([("Deleted", .string(parent.id))]))
            events.publish(type: "image", action: "delete", id: parent.id, attributes: [:])
            next = parent.parent
        }
        return out
    }
}

extension ImageService {
    /// `GET /images/{name}/history`: the config's history, newest first; entries that made a layer carry its
    /// size, the top one the image's ID (the others `<missing>`, as for pulled images).
    func history(_ ref: String) async throws(BerthError) -> JSONValue {
        let r = try await store.resolve(ref)
        var layers = r.layers[...]
        var rows: [JSONValue] = []
        for h in r.config["history"]?.arrayValue ?? [] {
            var size: Int64 = 0
            if h["empty_layer"]?.boolValue != true, let layer = layers.popFirst() {
                size = (try? await store.storage.usage(id: layer)) ?? 0
            }
            rows.append(
                .object([
                    ("Id", .string("<missing>")),
                    ("Created", .int((Clock.parseRFC3339(h["created"]?.stringValue ?? "") ?? 0) / 1_000_000_000)),
                    ("CreatedBy", .string(h["created_by"]?.stringValue ?? "")), ("Tags", .null), ("Size", .int(size)),
                    ("Comment", .string(h["comment"]?.stringValue ?? "")),
                ]))
        }
        // The image and the ancestors it was built or committed from that are still here: each is the row of
        // its last history entry, as Docker shows a local build's intermediate images.
        var next: ImageRecord? = r
        while let image = next {
            let row = (image.config["history"]?.arrayValue?.count ?? 0) - 1
            if row >= 0, row < rows.count {
                rows[row]["Id"] = .string(image.id)
                rows[row]["Tags"] = image.repoTags.isEmpty ? .null : .strings(image.repoTags)
            }
            next = image.parent.isEmpty ? nil : await store.find(image.parent)
        }
        rows.reverse()
        if !rows.isEmpty, rows[0]["Id"]?.stringValue == "<missing>" { rows[0]["Id"] = .string(r.id) }
        return .array(rows)
    }
}

extension ImageService {
    /// `POST /images/prune`: unused dangling images, or with `dangling=false` every unused image.
    func prune(filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["dangling", "until", "label", "label!"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        let danglingOnly = !(filters["dangling"]?.contains { $0 == "false" || $0 == "0" } ?? false)
        var deleted: [JSONValue] = []
        var reclaimed: Int64 = 0
        let all = await store.all()
        let parents = Set(all.map(\.parent))
        for r in all {
            if danglingOnly, !r.repoTags.isEmpty { continue }
            // Intermediate images go with the image made from them.
            if r.repoTags.isEmpty, parents.contains(r.id) { continue }
            guard await containers.usesImage(r.id).isEmpty else { continue }
            let created = Clock.parseRFC3339(r.config["created"]?.stringValue ?? "") ?? 0
            let labels = r.containerConfig["Labels"]?.stringMap ?? [:]
            guard try ContainerService.pruneMatches(created: created, labels: labels, filters: filters) else {
                continue
            }
            guard let result = try? await delete(r.id, force: true) else { continue }
            deleted += result.arrayValue ?? []
            reclaimed += r.size
        }
        return .object([
            ("ImagesDeleted", deleted.isEmpty ? .null : .array(deleted)), ("SpaceReclaimed", .int(reclaimed)),
        ])
    }

    /// The `Images` and `LayersSize` of `GET /system/df`.
    func diskUsage() async -> (layersSize: Int64, images: [JSONValue]) {
        var rows: [JSONValue] = []
        var total: Int64 = 0
        for r in await store.all() {
            var row = summary(r)
            row["Containers"] = .int(await containers.usesImage(r.id).count)
            row["SharedSize"] = .int(0)
            rows.append(row)
            total += r.size
        }
        return (total, rows)
    }
}
