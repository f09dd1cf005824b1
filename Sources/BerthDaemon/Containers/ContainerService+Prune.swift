import BerthCore
import BerthImage
import BerthOS

/// Housekeeping: `container prune` and the container and volume parts of `system df`.
extension ContainerService {
    /// `until` (a timestamp or a duration before now) and `label` / `label!` filters of the prune endpoints.
    static func pruneMatches(created: Int64, labels: [String: String], filters: [String: [String]]) throws(BerthError)
        -> Bool
    {
        for until in filters["until"] ?? [] {
            let limit: Int64
            if let seconds = TimeText.parseDuration(until) {
                limit = Clock.nowNanos() - Int64(seconds * 1e9)
            } else if let at = try SystemRoutes.parseTime(until) {
                limit = at
            } else {
                throw .invalidArgument("invalid until filter: \(until)")
            }
            if created >= limit { return false }
        }
        if let wanted = filters["label"], !wanted.allSatisfy({ labelMatches($0, labels) }) { return false }
        if let unwanted = filters["label!"], unwanted.contains(where: { labelMatches($0, labels) }) { return false }
        return true
    }

    /// `POST /containers/prune`: every stopped container (matching the filters) with its layer.
    func pruneContainers(filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["until", "label", "label!"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for r in all() where !r.isRunning && r.status != .removing {
            guard try Self.pruneMatches(created: r.created, labels: r.labels, filters: filters) else { continue }
            let size = (try? await storage.usage(id: r.id)) ?? 0
            await removeQuietly(r.id)
            guard records[r.id] == nil else { continue }
            deleted.append(r.id)
            reclaimed += max(0, size)
        }
        return .object([
            ("ContainersDeleted", deleted.isEmpty ? .null : .strings(deleted)), ("SpaceReclaimed", .int(reclaimed)),
        ])
    }

    /// The `Containers` of `GET /system/df`: list rows with their writable layer's size.
    func containersDiskUsage() async throws(BerthError) -> [JSONValue] {
        var rows = try list(all: true, limit: nil, filters: [:]).arrayValue ?? []
        for i in rows.indices {
            let id = rows[i]["Id"]?.stringValue ?? ""
            rows[i]["SizeRw"] = .int((try? await storage.usage(id: id)) ?? 0)
            let image = records[id]?.imageID ?? ""
            rows[i]["SizeRootFs"] = .int((try? await images.resolve(image).size) ?? 0)
        }
        return rows
    }

    /// The `Volumes` of `GET /system/df`.
    func volumesDiskUsage() async -> [JSONValue] {
        var out: [JSONValue] = []
        for r in await volumes.all() {
            out.append(await volumes.json(r, usage: true, refCount: volumeUsers(r.name).count))
        }
        return out
    }
}
