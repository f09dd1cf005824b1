import BerthCore
import BerthOS
import CArchive
import Glibc

/// Copies a directory tree faithfully: modes, numeric owners, times, symlinks (as symlinks), hardlinks (as
/// hardlinks), device nodes, FIFOs, extended attributes and ACLs. Sockets are skipped.
public enum TreeCopier {
    /// Copies the tree at `source` to `destination`, which must not exist yet (its parent must).
    ///
    /// Blocking: run it off the cooperative pool for large trees. On failure `destination` is left partial and
    /// the caller removes it.
    /// - Returns: the bytes of regular file content copied.
    @discardableResult
    public static func copy(from source: String, to destination: String) throws(BerthError) -> Int64 {
        let src = try LibArchive.realPath(source)
        guard FileSystem.isDirectory(src) else { throw .invalidArgument("copy: \(source) is not a directory") }
        if FileSystem.exists(destination) { throw .conflict("copy: \(destination) already exists") }
        let dst = try LibArchive.realPath(FileSystem.parent(of: destination)) + "/" + FileSystem.basename(destination)

        let reader = try DiskEntryReader()
        guard let writer = archive_write_disk_new() else { throw .internalError("archive_write_disk_new failed") }
        defer { archive_write_free(writer) }
        archive_write_disk_set_options(writer, LibArchive.diskWriteOptions)

        var copy = Copy(reader: reader, writer: writer)
        try copy.file(source: src, destination: dst)
        guard archive_write_close(writer) >= ARCHIVE_WARN else { throw LibArchive.writeError(writer, "copy \(src)") }
        return copy.bytes
    }
}

private struct Copy {
    let reader: DiskEntryReader
    let writer: OpaquePointer
    var links: [InodeKey: String] = [:]
    var bytes: Int64 = 0

    init(reader: DiskEntryReader, writer: OpaquePointer) {
        self.reader = reader
        self.writer = writer
    }

    mutating func file(source: String, destination: String) throws(BerthError) {
        var st = stat()
        guard lstat(source, &st) == 0 else { throw Syscall.error("lstat \(source)", errno: errno) }
        let kind = st.st_mode & S_IFMT
        if kind == S_IFSOCK { return }
        let entry = try reader.entry(for: source, stat: st)
        defer { archive_entry_free(entry) }
        archive_entry_copy_pathname(entry, destination)
        var isLink = false
        if kind != S_IFDIR, st.st_nlink > 1 {
            let key = InodeKey(st)
            if let first = links[key] {
                archive_entry_copy_hardlink(entry, first)
                archive_entry_set_size(entry, 0)
                isLink = true
            } else {
                links[key] = destination
            }
        }
        guard archive_write_header(writer, entry) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(writer, "copy \(source)")
        }
        if kind == S_IFREG, !isLink, st.st_size > 0 {
            bytes += try DiskEntryReader.copyContent(of: source, into: writer)
        }
        guard archive_write_finish_entry(writer) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(writer, "copy \(source)")
        }
        if kind == S_IFDIR {
            for name in try FileSystem.list(source) {
                try file(source: source + "/" + name, destination: destination + "/" + name)
            }
        }
    }
}
