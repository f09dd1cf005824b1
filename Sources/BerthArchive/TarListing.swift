import BerthCore
import CArchive
import Glibc

/// The entries of a tar without extracting it.
public enum TarListing {
    public struct Entry: Sendable, Equatable {
        /// The name as stored, without a leading `./` or trailing `/`.
        public var path: String
        public var isDirectory: Bool
    }

    /// The entries of the tar read from `fd` (which stays open; it is read to the end).
    public static func entries(fd: Int32) throws(BerthError) -> [Entry] {
        LibArchive.ensureLocale()
        guard let reader = archive_read_new() else { throw .internalError("archive_read_new failed") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_tar(reader)
        guard archive_read_open_fd(reader, fd, 1 << 16) == ARCHIVE_OK else {
            throw .invalidArgument("invalid tar: \(LibArchive.errorString(reader))")
        }
        var out: [Entry] = []
        var entry: OpaquePointer?
        while true {
            let r = archive_read_next_header(reader, &entry)
            if r == ARCHIVE_EOF { break }
            guard r >= ARCHIVE_WARN, let e = entry,
                let name = archive_entry_pathname(e) ?? archive_entry_pathname_utf8(e)
            else { throw .invalidArgument("invalid tar: \(LibArchive.errorString(reader))") }
            var text = String(cString: name)
            while text.hasPrefix("./") { text.removeFirst(2) }
            while text.hasSuffix("/") { text.removeLast() }
            out.append(Entry(path: text, isDirectory: archive_entry_filetype(e) == BERTH_AE_IFDIR))
            archive_read_data_skip(reader)
        }
        return out
    }
}
