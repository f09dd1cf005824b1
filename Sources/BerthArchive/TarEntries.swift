import BerthCore
import BerthOS
import CArchive
import Glibc

/// The entries of a tar (plain or compressed) for `load`: regular files are written to numbered files in a
/// directory of the caller's (never under their own names), links are reported with their targets.
public enum TarEntries {
    public struct Entry: Sendable {
        public var name: String
        /// Where a regular file's content was written.
        public var file: String?
        /// A symlink's target, or the archive name a hardlink points at (with a leading `/`).
        public var linkTarget: String?
    }

    /// - Throws: `.invalidArgument` for an archive libarchive cannot read to its end (truncated, corrupt).
    public static func read(path: String, into dir: String) throws(BerthError) -> [Entry] {
        guard let a = archive_read_new() else { throw .internalError("libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_gnutar(a)
        guard archive_read_open_filename(a, path, 1 << 16) == ARCHIVE_OK else {
            throw .invalidArgument("invalid archive: \(String(cString: archive_error_string(a)))")
        }
        var out: [Entry] = []
        var entry: OpaquePointer?
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let rc = archive_read_next_header(a, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc >= ARCHIVE_WARN, let entry else {
                throw .invalidArgument("invalid archive: \(String(cString: archive_error_string(a)))")
            }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            if let hard = archive_entry_hardlink(entry) {
                out.append(Entry(name: name, file: nil, linkTarget: "/" + String(cString: hard)))
                continue
            }
            switch archive_entry_filetype(entry) {
            case BERTH_AE_IFREG:
                let file = "\(dir)/\(out.count)"
                let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw Syscall.error("create \(file)", errno: errno) }
                defer { close(fd) }
                while true {
                    let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                    if n < 0 { throw .invalidArgument("invalid archive: \(String(cString: archive_error_string(a)))") }
                    if n == 0 { break }
                    try FileSystem.writeAll(fd: fd, Array(buffer[0..<n]), what: file)
                }
                out.append(Entry(name: name, file: file, linkTarget: nil))
            case BERTH_AE_IFLNK:
                out.append(
                    Entry(name: name, file: nil, linkTarget: archive_entry_symlink(entry).map { String(cString: $0) }))
            default:
                continue
            }
        }
        return out
    }
}
