import BerthCore
import BerthOS
import CArchive
import Glibc

/// A tar written entry by entry to a file descriptor (`save`): directories, bytes, and files copied from disk.
/// Entries are owned by root with mtime 0, so the same content gives the same bytes.
public final class TarStreamWriter {
    private let archive: OpaquePointer

    public init(fd: Int32) throws(BerthError) {
        guard let a = archive_write_new() else { throw .internalError("archive_write_new failed") }
        archive = a
        archive_write_set_format_pax_restricted(a)
        archive_write_add_filter_none(a)
        guard archive_write_open_fd(a, fd) == ARCHIVE_OK else {
            let e = LibArchive.writeError(a, "open tar stream")
            archive_write_free(a)
            throw e
        }
    }

    deinit { archive_write_free(archive) }

    private func header(_ name: String, type: UInt32, size: Int64, mode: mode_t) throws(BerthError) {
        guard let entry = archive_entry_new() else { throw .internalError("archive_entry_new failed") }
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode)
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, 0, 0)
        guard archive_write_header(archive, entry) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(archive, "write \(name)")
        }
    }

    private func finish(_ name: String) throws(BerthError) {
        guard archive_write_finish_entry(archive) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(archive, "write \(name)")
        }
    }

    public func directory(_ name: String) throws(BerthError) {
        try header(name, type: BERTH_AE_IFDIR, size: 0, mode: 0o755)
        try finish(name)
    }

    public func bytes(_ name: String, _ data: [UInt8]) throws(BerthError) {
        try header(name, type: BERTH_AE_IFREG, size: Int64(data.count), mode: 0o644)
        if !data.isEmpty {
            let n = data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
            guard n == data.count else { throw LibArchive.writeError(archive, "write \(name)") }
        }
        try finish(name)
    }

    /// The regular file at `path` as `name`.
    public func file(_ name: String, from path: String) throws(BerthError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw Syscall.error("stat \(path)", errno: errno) }
        try header(name, type: BERTH_AE_IFREG, size: Int64(st.st_size), mode: 0o644)
        if st.st_size > 0 { _ = try DiskEntryReader.copyContent(of: path, into: archive) }
        try finish(name)
    }

    public func close() throws(BerthError) {
        guard archive_write_close(archive) >= ARCHIVE_WARN else { throw LibArchive.writeError(archive, "write tar") }
    }
}
