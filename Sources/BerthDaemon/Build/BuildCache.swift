import BerthCore
import BerthOS

/// The builder's cache index: the key of a step (its parent's key chained with what it does) to the IDs of the
/// images it made, newest first (a few: a `--no-cache` build must not hide the chain a `--cache-from` image
/// was made of), in `<root>/builder/cache.json`. An image that was removed is a miss.
actor BuildCache {
    let path: String
    private var entries: [String: [String]]
    static let perKey = 4

    init(root: String) {
        path = root + "/builder/cache.json"
        var loaded: [String: [String]] = [:]
        if let bytes = try? FileSystem.readFile(path), let json = try? JSONValue.parse(bytes: bytes) {
            for (k, v) in json.objectMembers { loaded[k] = v.stringArray ?? [] }
        }
        entries = loaded
    }

    func lookup(_ key: String) -> [String] { entries[key] ?? [] }

    func store(_ key: String, _ id: String) {
        var ids = entries[key] ?? []
        guard ids.first != id else { return }
        ids.removeAll { $0 == id }
        ids.insert(id, at: 0)
        entries[key] = Array(ids.prefix(Self.perKey))
        save()
    }

    /// Forgets entries whose images are gone; `keeping` says which image IDs still exist.
    func prune(keeping exists: (String) -> Bool) -> Int {
        var removed = 0
        for (k, ids) in entries {
            let kept = ids.filter(exists)
            removed += ids.count - kept.count
            entries[k] = kept.isEmpty ? nil : kept
        }
        save()
        return removed
    }

    private func save() {
        try? FileSystem.createDirectory(FileSystem.parent(of: path))
        let json = JSONValue.object(entries.sorted { $0.key < $1.key }.map { ($0.key, .strings($0.value)) })
        // Not fsynced: a lost entry is only a cache miss.
        try? FileSystem.writeFileAtomic(path, Array(json.serialized.utf8), durable: false)
    }
}
