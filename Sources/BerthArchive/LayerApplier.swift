import BerthCore
import BerthOS
import CArchive
import CBerthLinux
import Glibc

/// Extracts a layer tar (plain, gzip, zstd, xz, …) into a directory, turning OCI whiteouts into the form the
/// storage driver needs and refusing entries that would land outside the directory.
///
/// Extraction never changes the working directory: every entry (and every hardlink target) is rewritten to
/// `dir + "/" + path`. User and group IDs are kept numeric (no lookup through the host's `/etc/passwd`).
/// `trusted.overlay.*` attributes in the tar are dropped.
public enum LayerApplier {
    /// Extracts the layer tar at `path` into `dir`.
    ///
    /// Refused with `.invalidArgument` (naming the entry): absolute entry names, any `..` component, hardlink
    /// targets with either, and any entry whose directory inside `dir` is a symlink. A symlink's own target may
    /// be absolute (it resolves inside the container). On failure `dir` is left half-written: the caller removes it.
    /// - Parameters:
    ///   - path: the tar, optionally compressed; only the tar format is accepted.
    ///   - dir: an existing directory (the layer's diff dir, or its flattened tree for `.apply`).
    ///   - whiteouts: how whiteout entries are represented.
    /// - Returns: the bytes of regular file content written.
    @discardableResult
    public static func apply(archive path: String, to dir: String, whiteouts: WhiteoutMode) throws(BerthError)
        -> Int64
    {
        try apply(to: dir, whiteouts: whiteouts) { reader in
            archive_read_open_filename(reader, path, 1 << 16) == ARCHIVE_OK
                ? nil
                : archive_errno(reader) == ENOENT
                    ? .notFound("layer archive \(path) not found")
                    : .invalidArgument("invalid layer: \(LibArchive.errorString(reader))")
        }
    }

    /// The same, reading the tar from `fd` (which stays open).
    @discardableResult
    public static func apply(archiveFD fd: Int32, to dir: String, whiteouts: WhiteoutMode) throws(BerthError)
        -> Int64
    {
        try apply(to: dir, whiteouts: whiteouts) { reader in
            archive_read_open_fd(reader, fd, 1 << 16) == ARCHIVE_OK
                ? nil : .invalidArgument("invalid tar: \(LibArchive.errorString(reader))")
        }
    }

    private static func apply(
        to dir: String, whiteouts: WhiteoutMode, open: (OpaquePointer) -> BerthError?
    ) throws(BerthError) -> Int64 {
        LibArchive.ensureLocale()
        let root = try LibArchive.realPath(dir)
        guard let reader = archive_read_new() else { throw .internalError("archive_read_new failed") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_tar(reader)
        if let error = open(reader) { throw error }
        guard let writer = archive_write_disk_new() else { throw .internalError("archive_write_disk_new failed") }
        defer { archive_write_free(writer) }
        archive_write_disk_set_options(writer, LibArchive.diskWriteOptions)

        var state = Extraction(root: root, mode: whiteouts)
        var entryPointer: OpaquePointer?
        while true {
            let r = archive_read_next_header(reader, &entryPointer)
            if r == ARCHIVE_EOF { break }
            guard r >= ARCHIVE_WARN, let entry = entryPointer else {
                throw .invalidArgument("invalid layer: \(LibArchive.errorString(reader))")
            }
            try state.handle(entry: entry, reader: reader, writer: writer)
        }
        try state.finish()
        guard archive_write_close(writer) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(writer, "extract layer")
        }
        return state.bytes
    }
}

/// The state of one extraction: what this layer wrote and which directories it marked opaque.
private struct Extraction {
    let root: String
    let mode: WhiteoutMode
    var bytes: Int64 = 0
    /// Paths extracted from this layer, with all their ancestors.
    var extracted: Set<String> = []
    /// Directories marked opaque in `.apply` mode, processed after the last entry.
    var opaque: [LayerPath] = []
    /// Whiteouts made by this layer in `.overlay` mode: a directory entry replacing one must hide the lower
    /// directory's content, so it becomes opaque.
    var whitedOut: Set<String> = []

    init(root: String, mode: WhiteoutMode) {
        self.root = root
        self.mode = mode
    }

    mutating func handle(entry: OpaquePointer, reader: OpaquePointer, writer: OpaquePointer) throws(BerthError) {
        guard let rawPointer = archive_entry_pathname(entry) ?? archive_entry_pathname_utf8(entry) else {
            throw .invalidArgument("invalid layer: an entry has no readable name")
        }
        let raw = String(cString: rawPointer)
        let path = try LayerPath(checking: raw, what: "entry \"\(raw)\"")

        if path.name.hasPrefix(".wh."), mode != .none {
            try whiteout(path, raw: raw)
            return
        }
        try path.checkNoSymlinks(in: root, what: "entry \"\(raw)\"")
        if path.isRoot {
            guard archive_entry_filetype(entry) == BERTH_AE_IFDIR else {
                throw .invalidArgument("invalid layer: entry \"\(raw)\" replaces the root with a non-directory")
            }
        }
        if let linkPointer = archive_entry_hardlink(entry) {
            let rawLink = String(cString: linkPointer)
            let what = "hardlink \"\(raw)\" -> \"\(rawLink)\""
            let target = try LayerPath(checking: rawLink, what: what)
            guard !target.isRoot else { throw .invalidArgument("invalid layer: \(what) links to the root") }
            try target.checkNoSymlinks(in: root, what: what)
            archive_entry_copy_hardlink(entry, target.host(in: root))
        }
        archive_entry_copy_pathname(entry, path.host(in: root))
        LibArchive.stripOverlayXattrs(entry)

        guard archive_write_header(writer, entry) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(writer, "extract \"\(raw)\"")
        }
        if archive_entry_size(entry) > 0 {
            try copyData(reader: reader, writer: writer, raw: raw)
        }
        guard archive_write_finish_entry(writer) >= ARCHIVE_WARN else {
            throw LibArchive.writeError(writer, "extract \"\(raw)\"")
        }
        if mode == .overlay, whitedOut.contains(path.relative), archive_entry_filetype(entry) == BERTH_AE_IFDIR {
            try setOpaque(path)
        }
        record(path)
    }

    private func setOpaque(_ dir: LayerPath) throws(BerthError) {
        let host = dir.host(in: root)
        if berth_setxattr(host, OverlayMarkers.opaqueXattr, "y", 1) != 0 {
            throw Syscall.error("setxattr \(OverlayMarkers.opaqueXattr) \(host)", errno: errno)
        }
    }

    private mutating func copyData(reader: OpaquePointer, writer: OpaquePointer, raw: String) throws(BerthError) {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let r = archive_read_data_block(reader, &buffer, &size, &offset)
            if r == ARCHIVE_EOF { return }
            guard r >= ARCHIVE_WARN else {
                throw .invalidArgument("invalid layer: entry \"\(raw)\": \(LibArchive.errorString(reader))")
            }
            guard archive_write_data_block(writer, buffer, size, offset) >= Int(ARCHIVE_WARN) else {
                throw LibArchive.writeError(writer, "extract \"\(raw)\"")
            }
            bytes += Int64(size)
        }
    }

    private mutating func record(_ path: LayerPath) {
        extracted.insert(path.relative)
        for a in path.ancestors { extracted.insert(a.relative) }
    }

    /// `.wh.NAME` or `.wh..wh..opq` at `path` (the whiteout entry itself is never written).
    private mutating func whiteout(_ path: LayerPath, raw: String) throws(BerthError) {
        let dir = path.parent
        let what = "whiteout \"\(raw)\""
        if path.name == ".wh..wh..opq" {
            switch mode {
            case .overlay:
                try dir.createDirectories(in: root, what: what)
                try setOpaque(dir)
            case .apply:
                try dir.checkNoSymlinks(in: root, includingSelf: true, what: what)
                opaque.append(dir)
            case .none:
                break
            }
            return
        }
        let name = String(path.name.dropFirst(4))
        guard !name.isEmpty, name != ".", name != ".." else {
            throw .invalidArgument("invalid layer: \(what) names no file")
        }
        let target = LayerPath(components: dir.components + [name])
        try target.checkNoSymlinks(in: root, what: what)
        // The same layer may also carry NAME (tar order is not guaranteed): whiteouts only hide lower layers.
        if extracted.contains(target.relative) { return }
        let host = target.host(in: root)
        switch mode {
        case .overlay:
            try dir.createDirectories(in: root, what: what)
            try FileSystem.removeTree(host)
            if berth_mknod_whiteout(host) != 0 { throw Syscall.error("mknod whiteout \(host)", errno: errno) }
            whitedOut.insert(target.relative)
        case .apply:
            var st = stat()
            guard lstat(host, &st) == 0 else { return }  // nothing to hide (or a parent is not a directory)
            try FileSystem.removeTree(host)
        case .none:
            break
        }
    }

    /// Applies the opaque markers of `.apply` mode: removes what lower layers left in those directories.
    mutating func finish() throws(BerthError) {
        for dir in opaque {
            try dir.checkNoSymlinks(in: root, includingSelf: true, what: "whiteout \"\(dir.relative)/.wh..wh..opq\"")
            try removeLower(in: dir)
        }
    }

    private func removeLower(in dir: LayerPath) throws(BerthError) {
        let host = dir.host(in: root)
        guard FileSystem.isDirectory(host) else { return }
        for name in try FileSystem.list(host) {
            let child = LayerPath(components: dir.components + [name])
            if !extracted.contains(child.relative) {
                try FileSystem.removeTree(child.host(in: root))
                continue
            }
            var st = stat()
            if lstat(child.host(in: root), &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
                try removeLower(in: child)
            }
        }
    }
}
