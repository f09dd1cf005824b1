import BerthCore
import CArchive

/// Digests of layer tars: the OCI `diff_id` is the SHA-256 of the *uncompressed* tar.
public enum ArchiveDigest {
    /// SHA-256 (hex) and size of the decompressed stream of `path` (gzip, zstd, xz, bzip2 or plain).
    public static func uncompressedSHA256(path: String) throws(BerthError) -> (hex: String, size: Int64) {
        guard let a = archive_read_new() else { throw .internalError("libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        archive_read_support_format_raw(a)
        guard archive_read_open_filename(a, path, 65536) == ARCHIVE_OK else {
            throw .invalidArgument("cannot read \(path): \(String(cString: archive_error_string(a)))")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else {
            // An empty input has no raw entry: the digest of nothing.
            return (SHA256.hash([UInt8]()), 0)
        }
        var hash = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
            if n < 0 { throw .invalidArgument("invalid layer archive: \(String(cString: archive_error_string(a)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += Int64(n)
        }
        return (hash.finalizeHex(), size)
    }
}
