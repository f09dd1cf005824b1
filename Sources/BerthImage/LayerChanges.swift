import BerthCore
import BerthOS
import Glibc

/// What a container changed in its image's filesystem (`docker diff`), found by comparing the merged trees of
/// its layer and of its image's top layer: works for every storage driver.
public struct LayerChanges: Sendable, Equatable {
    public enum Kind: Int, Sendable {
        case modified = 0
        case added = 1
        case deleted = 2
    }

    public struct Change: Sendable, Equatable {
        /// Absolute path in the container (`/tmp/f`).
        public var path: String
        public var kind: Kind
    }

    public var changes: [Change]
    /// The changed and added files as the container sees them, for a layer tar (parents first).
    public var entries: [TreeEntry]
    /// Deleted paths relative to the root (only the topmost of a deleted tree).
    public var deleted: [String]

    /// Files the engine itself puts into a container's layer (mount points of /etc/hostname, /etc/hosts and
    /// /etc/resolv.conf): not the container's changes, as Docker keeps them out of `diff` and `commit`.
    public static let engineFiles: Set<String> = ["etc/hostname", "etc/hosts", "etc/resolv.conf"]

    /// Compares `layer` (a container's) with `parent` (nil: an empty base). A directory counts as modified
    /// when its mode or owner changed or something below it did (not for its timestamp alone).
    public static func compute(
        storage: any StorageDriver, layer: String, parent: String?, ignoring: Set<String> = engineFiles
    ) async throws(BerthError) -> LayerChanges {
        let mine = try await storage.mergedTree(id: layer).filter { e in
            guard ignoring.contains(e.path) else { return true }
            // An engine file that was there before, or that the container filled, is a real change.
            var st = stat()
            return lstat(e.hostPath, &st) != 0 || st.st_size > 0
        }
        var theirs: [TreeEntry] = []
        if let parent { theirs = try await storage.mergedTree(id: parent) }
        var before: [String: String] = [:]
        for e in theirs { before[e.path] = e.hostPath }
        var result = LayerChanges(changes: [], entries: [], deleted: [])
        var present: Set<String> = []
        var changedBelow: Set<String> = []
        func markParents(_ path: String) {
            var p = FileSystem.parent(of: path)
            while p != ".", changedBelow.insert(p).inserted { p = FileSystem.parent(of: p) }
        }
        var candidates: [(TreeEntry, Kind?)] = []
        for e in mine {
            present.insert(e.path)
            guard let old = before[e.path] else {
                candidates.append((e, .added))
                markParents(e.path)
                continue
            }
            if old == e.hostPath { continue }
            switch Self.compare(old, e.hostPath) {
            case .same: continue
            // A directory whose only difference is its timestamp counts if something below it changed.
            case .timestampOnly: candidates.append((e, nil))
            case .different:
                candidates.append((e, .modified))
                markParents(e.path)
            }
        }
        for e in theirs where !present.contains(e.path) { markParents(e.path) }
        for (e, kind) in candidates {
            guard let kind = kind ?? (changedBelow.contains(e.path) ? .modified : nil) else { continue }
            result.changes.append(Change(path: "/" + e.path, kind: kind))
            result.entries.append(e)
        }
        for e in theirs where !present.contains(e.path) {
            // A deleted directory's children are not listed again.
            let parent = FileSystem.parent(of: e.path)
            if parent != ".", !present.contains(parent), before[parent] != nil { continue }
            result.changes.append(Change(path: "/" + e.path, kind: .deleted))
            result.deleted.append(e.path)
        }
        result.changes.sort { $0.path < $1.path }
        return result
    }

    enum Comparison { case same, timestampOnly, different }

    /// Same type, mode, owner, size, modification time and (for symlinks) target is the same file (Docker's
    /// rule); a directory that differs only in its timestamp is reported as such.
    static func compare(_ a: String, _ b: String) -> Comparison {
        var x = stat()
        var y = stat()
        guard lstat(a, &x) == 0, lstat(b, &y) == 0 else { return .different }
        guard x.st_mode == y.st_mode, x.st_uid == y.st_uid, x.st_gid == y.st_gid, x.st_rdev == y.st_rdev else {
            return .different
        }
        let sameTime = x.st_mtim.tv_sec == y.st_mtim.tv_sec && x.st_mtim.tv_nsec == y.st_mtim.tv_nsec
        if x.st_mode & S_IFMT == S_IFDIR { return sameTime ? .same : .timestampOnly }
        guard x.st_size == y.st_size, sameTime else { return .different }
        if x.st_mode & S_IFMT == S_IFLNK, (try? FileSystem.readLink(a)) != (try? FileSystem.readLink(b)) {
            return .different
        }
        return .same
    }
}
