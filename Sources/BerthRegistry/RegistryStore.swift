import BerthArchive
import BerthCore
import BerthOS
import Glibc
import Synchronization

/// The registry's content on disk, changed only by atomic steps (a new file renamed into place, a link created
/// or removed), so a crash at any point leaves a store that serves everything it had before.
///
/// ```
/// ROOT/blobs/sha256/HEX                                   content (layers, configs, manifests)
/// ROOT/uploads/ID/data, ROOT/uploads/ID/repository        uploads in progress
/// ROOT/repositories/NAME/_layers/sha256/HEX               empty: blob HEX belongs to NAME
/// ROOT/repositories/NAME/_manifests/revisions/sha256/HEX  the manifest's media type
/// ROOT/repositories/NAME/_manifests/tags/TAG              the tagged manifest's digest
/// ```
/// Repository names pass `RegistryNames.isValidRepository` first: their components start with a letter or digit,
/// so they never meet `_layers`/`_manifests`, `..` or an absolute path.
public final class RegistryStore: Sendable {
    public let root: String
    let uploads = Mutex<[String: UploadSession]>([:])

    public init(root: String) throws(BerthError) {
        self.root = root
        for dir in ["blobs/sha256", "uploads", "repositories"] { try FileSystem.createDirectory(root + "/" + dir) }
    }

    // MARK: Paths

    func blobPath(_ hex: String) -> String { "\(root)/blobs/sha256/\(hex)" }
    func repositoryPath(_ name: String) -> String { "\(root)/repositories/\(name)" }
    func layerLink(_ name: String, _ hex: String) -> String { "\(repositoryPath(name))/_layers/sha256/\(hex)" }
    func revisionLink(_ name: String, _ hex: String) -> String {
        "\(repositoryPath(name))/_manifests/revisions/sha256/\(hex)"
    }
    func tagPath(_ name: String, _ tag: String) -> String { "\(repositoryPath(name))/_manifests/tags/\(tag)" }

    // MARK: Blobs

    /// The size of blob `digest` as linked into repository `name`.
    /// - Throws: `BLOB_UNKNOWN` when the repository does not hold it.
    func blobSize(_ name: String, digest: String) throws(RegistryError) -> (path: String, size: Int) {
        guard let hex = RegistryNames.sha256Hex(digest) else { throw .digestInvalid("unsupported digest \(digest)") }
        guard FileSystem.exists(layerLink(name, hex)) || FileSystem.exists(revisionLink(name, hex)) else {
            throw .blobUnknown(digest)
        }
        var st = stat()
        guard stat(blobPath(hex), &st) == 0 else { throw .blobUnknown(digest) }
        return (blobPath(hex), Int(st.st_size))
    }

    /// Whether the blob's content is in the store (in any repository).
    func hasBlob(hex: String) -> Bool { FileSystem.exists(blobPath(hex)) }

    /// Makes blob `hex` part of repository `name`.
    func link(_ name: String, blob hex: String) throws(RegistryError) {
        try touch(layerLink(name, hex))
    }

    /// Removes blob `digest` from repository `name`; its content stays until garbage collection.
    func unlinkBlob(_ name: String, digest: String) throws(RegistryError) {
        guard let hex = RegistryNames.sha256Hex(digest) else { throw .digestInvalid("unsupported digest \(digest)") }
        guard unlink(layerLink(name, hex)) == 0 else { throw .blobUnknown(digest) }
    }

    /// Cross-repository mount: links blob `digest` of repository `from` into `name`.
    /// - Returns: false when `from` does not hold the blob (the client then uploads it).
    func mount(_ name: String, digest: String, from: String) throws(RegistryError) -> Bool {
        guard RegistryNames.isValidRepository(from), let hex = RegistryNames.sha256Hex(digest),
            FileSystem.exists(layerLink(from, hex)), hasBlob(hex: hex)
        else { return false }
        try link(name, blob: hex)
        return true
    }

    /// Moves a finished file into the blob store under `hex` (a no-op when the content is there already).
    func adopt(file: String, hex: String) throws(RegistryError) {
        let target = blobPath(hex)
        if hasBlob(hex: hex) {
            unlink(file)
            return
        }
        guard rename(file, target) == 0 else {
            throw .storage("store blob", Syscall.error("rename \(file)", errno: errno))
        }
        FileSystem.syncDirectory(of: target)
    }

    // MARK: Manifests

    /// Stores a manifest, links it into `name`, and points `tag` at it when given.
    func putManifest(_ name: String, bytes: [UInt8], hex: String, mediaType: String, tag: String?) throws(RegistryError)
    {
        if !hasBlob(hex: hex) {
            do { try FileSystem.writeFileAtomic(blobPath(hex), bytes) } catch {
                throw .storage("store manifest", error)
            }
        }
        do {
            try FileSystem.createDirectory(FileSystem.parent(of: revisionLink(name, hex)))
            try FileSystem.writeFileAtomic(revisionLink(name, hex), mediaType)
            if let tag {
                try FileSystem.createDirectory(FileSystem.parent(of: tagPath(name, tag)))
                try FileSystem.writeFileAtomic(tagPath(name, tag), "sha256:" + hex)
            }
        } catch {
            throw .storage("link manifest", error)
        }
    }

    /// The manifest a tag or digest names in `name`: its digest, media type and bytes.
    func manifest(_ name: String, reference: String) throws(RegistryError) -> (
        digest: String, mediaType: String, bytes: [UInt8]
    ) {
        let digest = try resolve(name, reference: reference)
        guard let hex = RegistryNames.sha256Hex(digest) else { throw .manifestUnknown(reference) }
        guard let mediaType = try? FileSystem.readText(revisionLink(name, hex)),
            let bytes = try? FileSystem.readFile(blobPath(hex))
        else { throw .manifestUnknown(reference) }
        return (digest, mediaType.isEmpty ? OCIMediaType.ociManifest : mediaType, bytes)
    }

    /// The digest a reference names: a tag's target, or the digest itself.
    func resolve(_ name: String, reference: String) throws(RegistryError) -> String {
        if RegistryNames.isDigestLike(reference) {
            guard RegistryNames.sha256Hex(reference) != nil else {
                throw .digestInvalid("unsupported digest \(reference)")
            }
            return reference
        }
        guard RegistryNames.isValidTag(reference) else { throw .tagInvalid(reference) }
        guard let text = try? FileSystem.readText(tagPath(name, reference)) else {
            throw .manifestUnknown(reference)
        }
        return text.trimmingSpaces
    }

    /// Deletes a tag, or a manifest by digest together with every tag that points at it.
    func deleteManifest(_ name: String, reference: String) throws(RegistryError) {
        if !RegistryNames.isDigestLike(reference) {
            guard RegistryNames.isValidTag(reference) else { throw .tagInvalid(reference) }
            guard unlink(tagPath(name, reference)) == 0 else { throw .manifestUnknown(reference) }
            return
        }
        guard let hex = RegistryNames.sha256Hex(reference) else {
            throw .digestInvalid("unsupported digest \(reference)")
        }
        guard unlink(revisionLink(name, hex)) == 0 else { throw .manifestUnknown(reference) }
        for tag in tags(name) where (try? FileSystem.readText(tagPath(name, tag)))?.trimmingSpaces == reference {
            unlink(tagPath(name, tag))
        }
    }

    /// Whether manifest `hex` is a revision of repository `name`.
    func hasManifest(_ name: String, hex: String) -> Bool { FileSystem.exists(revisionLink(name, hex)) }

    /// The tags of `name`, sorted; nil when the repository does not exist.
    func tags(_ name: String) -> [String] {
        ((try? FileSystem.list("\(repositoryPath(name))/_manifests/tags")) ?? []).filter { !$0.contains(".tmp-") }
            .sorted()
    }

    func repositoryExists(_ name: String) -> Bool { FileSystem.isDirectory(repositoryPath(name) + "/_manifests") }

    /// Every repository with at least one manifest, sorted.
    public func repositories() -> [String] {
        var out: [String] = []
        collectRepositories(root + "/repositories", prefix: "", into: &out)
        return out.sorted()
    }

    private func collectRepositories(_ dir: String, prefix: String, into out: inout [String]) {
        guard let names = try? FileSystem.list(dir) else { return }
        for entry in names where !entry.hasPrefix("_") {
            let path = dir + "/" + entry
            guard FileSystem.isDirectory(path) else { continue }
            let name = prefix.isEmpty ? entry : prefix + "/" + entry
            if let revisions = try? FileSystem.list(path + "/_manifests/revisions/sha256"), !revisions.isEmpty {
                out.append(name)
            }
            collectRepositories(path, prefix: name, into: &out)
        }
    }

    private func touch(_ path: String) throws(RegistryError) {
        do {
            try FileSystem.createDirectory(FileSystem.parent(of: path))
            let fd = try Syscall.call("create \(path)") { open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
            close(fd)
        } catch {
            throw .storage("link blob", error)
        }
    }
}

/// The media types the registry knows how to check.
public enum OCIMediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"

    static let manifests: Set<String> = [dockerManifest, ociManifest]
    static let indexes: Set<String> = [dockerList, ociIndex]
}
