import BerthCore
import CBerthLinux
import Glibc

/// File and directory operations without Foundation (the shim uses them too).
public enum FileSystem {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func readFile(_ path: String) throws(BerthError) -> [UInt8] {
        let fd = try Syscall.call("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        return try readAll(fd: fd, what: path)
    }

    public static func readAll(fd: Int32, what: String) throws(BerthError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try Syscall.call("read \(what)") {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    public static func readText(_ path: String) throws(BerthError) -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    /// Writes `bytes` to `path` (truncating), without fsync.
    public static func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(BerthError) {
        let fd = try Syscall.call("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        defer { close(fd) }
        try writeAll(fd: fd, bytes, what: path)
    }

    public static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws(BerthError) {
        try writeFile(path, Array(text.utf8), mode: mode)
    }

    public static func writeAll(fd: Int32, _ bytes: [UInt8], what: String) throws(BerthError) {
        var offset = 0
        while offset < bytes.count {
            let n = try Syscall.call("write \(what)") {
                bytes.withUnsafeBytes { buffer in
                    guard let base = buffer.baseAddress else { return 0 }
                    return write(fd, base + offset, buffer.count - offset)
                }
            }
            offset += n
        }
    }

    /// Writes atomically: a temporary file in the same directory, fsync, rename over `path`, fsync the directory.
    /// A crash leaves either the old file or the new one, never a torn one.
    /// With `durable: false` the data is not fsynced: a crash may lose the new content but never tears the
    /// file (for files that are regenerated, such as a container's hosts file or a cache).
    /// With `syncDirectory: false` the content is fsynced but the rename is not: a crash may leave the previous
    /// version (or no file), never a torn one. Each fsync costs about half a millisecond on this class of disk,
    /// so the container start path, whose files are re-checked at restart, uses this form (as Docker does).
    public static func writeFileAtomic(
        _ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true, syncDirectory: Bool = true
    ) throws(BerthError) {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let fd = try Syscall.call("open \(tmp)") { open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
            defer { close(fd) }
            try writeAll(fd: fd, bytes, what: tmp)
            if durable { try Syscall.call("fsync \(tmp)") { fsync(fd) } }
        } catch {
            unlink(tmp)
            throw error
        }
        do {
            try Syscall.call("rename \(tmp)") { rename(tmp, path) }
        } catch {
            unlink(tmp)
            throw error
        }
        if durable && syncDirectory { self.syncDirectory(of: path) }
    }

    public static func writeFileAtomic(
        _ path: String, _ text: String, mode: mode_t = 0o644, durable: Bool = true, syncDirectory: Bool = true
    ) throws(BerthError) {
        try writeFileAtomic(path, Array(text.utf8), mode: mode, durable: durable, syncDirectory: syncDirectory)
    }

    /// fsyncs the directory holding `path`, so a rename or unlink in it is durable.
    public static func syncDirectory(of path: String) {
        let dir = parent(of: path)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// The target of the symlink `path`.
    public static func readLink(_ path: String) throws(BerthError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { throw Syscall.error("readlink \(path)", errno: errno) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// `mkdir -p`.
    public static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(BerthError) {
        if isDirectory(path) { return }
        let p = parent(of: path)
        if p != path, p != "/", p != "." { try createDirectory(p, mode: mode) }
        if mkdir(path, mode) != 0 {
            let e = errno
            // EEXIST is fine for a directory made meanwhile, not for a file in the way (as `mkdir -p`).
            if e != EEXIST || !isDirectory(path) { throw Syscall.error("mkdir \(path)", errno: e) }
        }
    }

    /// Names in a directory, without `.` and `..`.
    public static func list(_ path: String) throws(BerthError) -> [String] {
        guard let dir = opendir(path) else { throw Syscall.error("opendir \(path)", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// `rm -rf`: never follows symlinks, does not cross into mount points it cannot remove.
    public static func removeTree(_ path: String) throws(BerthError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw Syscall.error("lstat \(path)", errno: errno)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            // A directory we cannot write into (0555) would refuse unlink of its children.
            if st.st_mode & 0o700 != 0o700 { chmod(path, st.st_mode | 0o700) }
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0, errno != ENOENT { throw Syscall.error("rmdir \(path)", errno: errno) }
        } else if unlink(path) != 0, errno != ENOENT {
            throw Syscall.error("unlink \(path)", errno: errno)
        }
    }

    /// Removes a tree that is already out of everyone's way (renamed into a trash name) on a background task,
    /// so the caller does not wait for thousands of unlinks. Leftovers of a crash are the owner's to sweep at
    /// start-up, as the storage drivers and the daemon's `tmp` do.
    public static func removeTreeInBackground(_ path: String) {
        Task.detached(priority: .background) { try? removeTree(path) }
    }

    /// Total bytes of regular files under `path` (hard links counted once per walk).
    public static func diskUsage(_ path: String) -> Int64 {
        var seen: Set<Inode> = []
        return diskUsage(path, seen: &seen)
    }

    private struct Inode: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private static func diskUsage(_ path: String, seen: inout Set<Inode>) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG {
            if st.st_nlink > 1, !seen.insert(Inode(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))).inserted {
                return 0
            }
            return Int64(st.st_size)
        }
        guard type == S_IFDIR else { return 0 }
        var total: Int64 = 0
        for name in (try? list(path)) ?? [] { total += diskUsage(path + "/" + name, seen: &seen) }
        return total
    }
}

extension String {
    /// A string from a NUL-terminated C buffer (without the deprecated array form of `init(cString:)`).
    public init(nulTerminated buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        self = String(decoding: buffer[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
