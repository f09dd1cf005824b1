import BerthCore
import BerthOS
import CArchive
import Glibc

/// Writes uncompressed `pax_restricted` tars of files on disk (for `export`, `commit` and layer diffs).
///
/// Owners are numeric (user and group names are cleared), symlinks stay symlinks, a second name of a hardlinked
/// file becomes a hardlink entry, sockets are skipped, and `trusted.overlay.*` attributes never enter the tar.
/// Access and change times are left out so that the same tree gives the same bytes.
public enum TarWriter {
    /// Writes `entries` in the given order to `fd` (which stays open).
    /// - Parameters:
    ///   - entries: files to write; `path` is the name in the tar, `hostPath` where the file is.
    ///   - fd: the destination, a file or a pipe.
    ///   - overlayWhiteouts: `false` skips overlay whiteouts (character devices 0:0); `true` writes them as
    ///     OCI `.wh.NAME` entries and adds `.wh..wh..opq` after each opaque directory, for a layer diff made
    ///     from an overlay upper directory.
    ///   - deleted: paths to write as OCI whiteouts (`.wh.NAME`) after the entries, for a layer diff computed
    ///     by comparing trees (drivers without an upper directory).
    public static func write(
        entries: [TreeEntry], to fd: Int32, overlayWhiteouts: Bool = false, deleted: [String] = []
    ) throws(BerthError) {
        let reader = try DiskEntryReader()
        guard let archive = archive_write_new() else { throw .internalError("archive_write_new failed") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        archive_write_add_filter_none(archive)
        guard archive_write_open_fd(archive, fd) == ARCHIVE_OK else {
            throw LibArchive.writeError(archive, "open tar stream")
        }
        var links: [InodeKey: String] = [:]
        for item in entries {
            try write(item, archive: archive, reader: reader, links: &links, overlayWhiteouts: overlayWhiteouts)
        }
        let now = Int(Clock.nowNanos() / 1_000_000_000)
        for path in deleted {
            let parent = FileSystem.parent(of: path)
            try marker((parent == "." ? "" : parent + "/") + ".wh." + FileSystem.basename(path), mtime: now, archive)
        }
        guard archive_write_close(archive) >= ARCHIVE_WARN else { throw LibArchive.writeError(archive, "write tar") }
    }

    /// Writes the tree under `dir` (not `dir` itself) to `fd`, parents first and siblings sorted by name.
    /// - Parameter overlayWhiteouts: see `write(entries:to:overlayWhiteouts:)`.
    public static func writeDirectory(_ dir: String, to fd: Int32, overlayWhiteouts: Bool = false)
        throws(BerthError)
    {
        try write(entries: DirectoryTree.entries(of: dir), to: fd, overlayWhiteouts: overlayWhiteouts)
    }

    private static func write(
        _ item: TreeEntry, archive: OpaquePointer, reader: DiskEntryReader, links: inout [InodeKey: String],
        overlayWhiteouts: Bool
    ) throws(BerthError) {
        var st = stat()
        guard lstat(item.hostPath, &st) == 0 else { throw Syscall.error("lstat \(item.hostPath)", errno: errno) }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFSOCK { return }
        if OverlayMarkers.isWhiteout(st) {
            if overlayWhiteouts {
                let parent = FileSystem.parent(of: item.path)
                let prefix = parent == "." ? "" : parent + "/"
                try marker(prefix + ".wh." + FileSystem.basename(item.path), mtime: st.st_mtim.tv_sec, archive)
            }
            return
        }
        let entry = try reader.entry(for: item.hostPath, stat: st)
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, item.path)
        archive_entry_unset_atime(entry)
        archive_entry_unset_ctime(entry)
        archive_entry_unset_birthtime(entry)
        LibArchive.stripOverlayXattrs(entry)
        var isLink = false
        if kind != S_IFDIR, st.st_nlink > 1 {
            let key = InodeKey(st)
            if let first = links[key] {
                archive_entry_copy_hardlink(entry, first)
                archive_entry_set_size(entry, 0)
                isLink = true
            } else {
                links[key] = item.path
            }
        }
        guard archive_write_header(archive, entry) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(archive, "write \(item.path)")
        }
        if kind == S_IFREG, !isLink, st.st_size > 0 {
            _ = try DiskEntryReader.copyContent(of: item.hostPath, into: archive)
        }
        guard archive_write_finish_entry(archive) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(archive, "write \(item.path)")
        }
        if overlayWhiteouts, kind == S_IFDIR, OverlayMarkers.isOpaque(item.hostPath) {
            try marker(item.path + "/.wh..wh..opq", mtime: st.st_mtim.tv_sec, archive)
        }
    }

    /// An empty regular file entry `path` (an OCI whiteout marker).
    private static func marker(_ path: String, mtime: Int, _ archive: OpaquePointer) throws(BerthError) {
        guard let entry = archive_entry_new() else { throw .internalError("archive_entry_new failed") }
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, path)
        archive_entry_set_filetype(entry, BERTH_AE_IFREG)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_size(entry, 0)
        archive_entry_set_mtime(entry, mtime, 0)
        guard archive_write_header(archive, entry) >= ARCHIVE_WARN,
            archive_write_finish_entry(archive) >= ARCHIVE_WARN
        else { throw LibArchive.writeError(archive, "write \(path)") }
    }
}
