import BerthCore
import BerthOS
import Glibc

extension RegistryStore {
    /// What a garbage collection found and did.
    public struct CollectionReport: Sendable, Equatable {
        /// Blobs removed (or, in a dry run, that would be).
        public var blobs: [String] = []
        public var bytes: Int64 = 0
        /// Untagged manifests removed with `deleteUntagged`, as `repository@digest`.
        public var manifests: [String] = []
        /// Repository links to blobs that are gone.
        public var links = 0
    }

    /// Mark and sweep: every blob that no manifest of any repository references (directly, through an index,
    /// or as a manifest itself) is deleted, with the repositories' links to it. With `deleteUntagged`, manifests
    /// that no tag reaches are removed first. The registry must not be serving while this runs (the `gc`
    /// command holds the root's lock).
    public func collectGarbage(deleteUntagged: Bool, dryRun: Bool) throws(BerthError) -> CollectionReport {
        var report = CollectionReport()
        var marked: Set<String> = []
        for name in repositories() {
            let revisions = Set(
                ((try? FileSystem.list(repositoryPath(name) + "/_manifests/revisions/sha256")) ?? []).filter {
                    RegistryNames.sha256Hex("sha256:" + $0) != nil
                })
            var keep = revisions
            if deleteUntagged {
                keep = []
                var queue = tags(name).compactMap { tag in
                    (try? FileSystem.readText(tagPath(name, tag))).flatMap {
                        RegistryNames.sha256Hex($0.trimmingSpaces)
                    }
                }
                while let hex = queue.popLast() {
                    guard revisions.contains(hex), keep.insert(hex).inserted else { continue }
                    queue += references(ofManifest: hex).manifests
                }
                for hex in revisions.subtracting(keep).sorted() {
                    report.manifests.append("\(name)@sha256:\(hex)")
                    if !dryRun { unlink(revisionLink(name, hex)) }
                }
            }
            for hex in keep {
                marked.insert(hex)
                let refs = references(ofManifest: hex)
                marked.formUnion(refs.blobs)
                marked.formUnion(refs.manifests)
            }
        }
        for hex in try FileSystem.list(root + "/blobs/sha256") where !marked.contains(hex) {
            // A blob being renamed into place has a temporary name; only whole digests are swept.
            guard RegistryNames.sha256Hex("sha256:" + hex) != nil else { continue }
            var st = stat()
            if stat(blobPath(hex), &st) == 0 { report.bytes += Int64(st.st_size) }
            report.blobs.append("sha256:" + hex)
            if !dryRun { unlink(blobPath(hex)) }
        }
        if !dryRun {
            for name in allRepositoryDirectories() {
                for hex in (try? FileSystem.list(repositoryPath(name) + "/_layers/sha256")) ?? []
                where !hasBlob(hex: hex) {
                    unlink(layerLink(name, hex))
                    report.links += 1
                }
            }
        }
        report.blobs.sort()
        return report
    }

    /// The blobs (config, layers) and child manifests a stored manifest names.
    func references(ofManifest hex: String) -> (blobs: [String], manifests: [String]) {
        guard let bytes = try? FileSystem.readFile(blobPath(hex)),
            let json = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))
        else { return ([], []) }
        func digests(_ key: String) -> [String] {
            (json[key]?.arrayValue ?? []).compactMap { $0["digest"]?.stringValue.flatMap(RegistryNames.sha256Hex) }
        }
        var blobs = digests("layers")
        if let config = json["config"]?["digest"]?.stringValue.flatMap(RegistryNames.sha256Hex) { blobs.append(config) }
        if let subject = json["subject"]?["digest"]?.stringValue.flatMap(RegistryNames.sha256Hex) {
            blobs.append(subject)
        }
        return (blobs, digests("manifests"))
    }

    /// Every directory under `repositories/` that has a `_layers` or `_manifests` directory.
    func allRepositoryDirectories() -> [String] {
        var out: [String] = []
        func walk(_ dir: String, _ prefix: String) {
            for entry in (try? FileSystem.list(dir)) ?? [] where !entry.hasPrefix("_") {
                let path = dir + "/" + entry
                guard FileSystem.isDirectory(path) else { continue }
                let name = prefix.isEmpty ? entry : prefix + "/" + entry
                if FileSystem.isDirectory(path + "/_layers") || FileSystem.isDirectory(path + "/_manifests") {
                    out.append(name)
                }
                walk(path, name)
            }
        }
        walk(root + "/repositories", "")
        return out
    }
}
