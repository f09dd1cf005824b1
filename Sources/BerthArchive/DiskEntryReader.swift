import BerthCore
import BerthOS
import CArchive
import Glibc

/// Reads the metadata of files on disk into libarchive entries (mode, numeric owner, times, symlink target,
/// extended attributes, ACLs, file flags) through `archive_read_disk`. Confined to one thread.
final class DiskEntryReader {
    private let disk: OpaquePointer

    init() throws(BerthError) {
        LibArchive.ensureLocale()
        guard let disk = archive_read_disk_new() else { throw .internalError("archive_read_disk_new failed") }
        // Sparse maps would not match the sequential data this module writes; never follow symlinks.
        archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_SPARSE)
        archive_read_disk_set_symlink_physical(disk)
        self.disk = disk
    }

    deinit { archive_read_free(disk) }

    /// A new entry (the caller frees it with `archive_entry_free`) describing the file at `hostPath` with stat
    /// `st`, named `hostPath`. User and group names are left empty so that only the numeric IDs count.
    func entry(for hostPath: String, stat st: stat) throws(BerthError) -> OpaquePointer {
        guard let entry = archive_entry_new() else { throw .internalError("archive_entry_new failed") }
        archive_entry_copy_sourcepath(entry, hostPath)
        archive_entry_copy_pathname(entry, hostPath)
        var st = st
        guard archive_read_disk_entry_from_file(disk, entry, -1, &st) >= ARCHIVE_WARN else {
            let message = LibArchive.errorString(disk)
            archive_entry_free(entry)
            throw BerthError(.system(archive_errno(disk)), "read metadata of \(hostPath): \(message)")
        }
        archive_entry_set_uname(entry, nil)
        archive_entry_set_gname(entry, nil)
        return entry
    }

    /// Streams the content of the regular file at `hostPath` into `archive` with `archive_write_data`.
    static func copyContent(of hostPath: String, into archive: OpaquePointer) throws(BerthError) -> Int64 {
        let fd = try Syscall.call("open \(hostPath)") { open(hostPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = try Syscall.call("read \(hostPath)") {
                buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return total }
            let w = buffer.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, n) }
            guard w >= 0 else { throw LibArchive.writeError(archive, "write \(hostPath)") }
            total += Int64(n)
        }
    }
}

/// The identity of an inode, for recognising hardlinks during a walk.
struct InodeKey: Hashable {
    let device: UInt64
    let inode: UInt64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
