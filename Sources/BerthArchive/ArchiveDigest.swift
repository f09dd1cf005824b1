import BerthCore
import CArchive
import Glibc

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
        let hash = FastSHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
            if n < 0 { throw .invalidArgument("invalid layer archive: \(String(cString: archive_error_string(a)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += Int64(n)
        }
        return (hash.finalizeHex(), size)
    }

    /// Writes the decompressed stream of `path` to `output` (created, mode 0600).
    /// - Returns: its SHA-256 (hex) and size.
    public static func decompress(path: String, to output: String) throws(BerthError) -> (hex: String, size: Int64) {
        guard let a = archive_read_new() else { throw .internalError("libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_filter_all(a)
        archive_read_support_format_raw(a)
        guard archive_read_open_filename(a, path, 65536) == ARCHIVE_OK else {
            throw .invalidArgument("cannot read \(path): \(String(cString: archive_error_string(a)))")
        }
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .init(.system(errno), "create \(output)") }
        defer { close(fd) }
        var entry: OpaquePointer?
        let hash = FastSHA256()
        var size: Int64 = 0
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else { return (hash.finalizeHex(), 0) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
            if n < 0 { throw .invalidArgument("invalid layer archive: \(String(cString: archive_error_string(a)))") }
            if n == 0 { break }
            let ok = buffer.withUnsafeBytes { raw -> Bool in
                guard let base = raw.baseAddress else { return false }
                var done = 0
                while done < n {
                    let w = write(fd, base + done, n - done)
                    if w < 0, errno == EINTR { continue }
                    if w <= 0 { return false }
                    done += w
                }
                return true
            }
            guard ok else { throw .init(.system(errno), "write \(output)") }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += Int64(n)
        }
        return (hash.finalizeHex(), size)
    }

    public enum Compression: Sendable, Equatable {
        case none, gzip, zstd, xz, bzip2
    }

    /// The compression of the file at `path` by its first bytes (`.none` for an empty file); nil when it cannot
    /// be read.
    public static func compression(path: String) -> Compression? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 6)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        let bytes = head[0..<n]
        if bytes.starts(with: [0x1F, 0x8B]) { return .gzip }
        if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if bytes.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) { return .xz }
        if bytes.starts(with: [0x42, 0x5A, 0x68]) { return .bzip2 }
        return Compression.none
    }
}
