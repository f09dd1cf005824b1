import BerthArchive
import BerthCore
import BerthDockerIgnore
import BerthOS
import CBerthLinux
import Glibc

extension FileCopier {
    /// Copies what `request` names from `sourceRoot` into the container root `root`.
    ///
    /// Docker's rules: a directory source gives its contents; a file goes to `dest/NAME` when the destination
    /// ends with `/` or is a directory in the image, else to the destination path itself; several sources need
    /// a destination ending with `/`. Files are owned by 0:0 unless `--chown`, keep their mode unless `--chmod`,
    /// and keep their modification time. ADD extracts local tar archives (plain or compressed) into the
    /// destination instead of copying them.
    static func copy(_ request: Request, from sourceRoot: String, into root: String) throws(BerthError) {
        let keyword = request.keyword
        let matches = try FileCopier.matches(request.sources, in: sourceRoot, keyword: keyword)
        let owner =
            try request.chown.map { (text) throws(BerthError) in try FileCopier.owner(text, in: root) } ?? (0, 0)
        let count = matches.count + request.inline.count
        let dest = request.destination
        let destIsDir: Bool
        if dest.hasSuffix("/") || dest.hasSuffix("/.") {
            destIsDir = true
        } else if count > 1 {
            throw .invalidArgument(
                "When using \(keyword) with more than one source file, the destination must be a directory and end with a /"
            )
        } else {
            var st = stat()
            let existing = try resolveInRoot(root, String(FilePaths.clean(dest).dropFirst()))
            destIsDir = existing.map { stat(root + "/" + $0, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR } ?? false
        }
        let cleanDest = FilePaths.clean(dest)
        for m in matches {
            if m.isDirectory {
                let dir = try makeDirectories(cleanDest, in: root, owner: owner)
                try copyTree(m.hostPath, into: dir, owner: owner, mode: request.mode)
            } else if request.extractArchives, isArchive(m.hostPath) {
                let dir = try makeDirectories(cleanDest, in: root, owner: owner)
                try LayerApplier.apply(archive: m.hostPath, to: dir, whiteouts: .none)
            } else {
                let target =
                    destIsDir
                    ? cleanDest + "/" + FileSystem.basename(m.relative.isEmpty ? m.hostPath : m.relative) : cleanDest
                let parent = try makeDirectories(FileSystem.parent(of: target), in: root, owner: owner)
                try copyEntry(
                    m.hostPath, to: parent + "/" + FileSystem.basename(target), owner: owner, mode: request.mode,
                    follow: true)
            }
        }
        for doc in request.inline {
            let target = destIsDir ? cleanDest + "/" + doc.name : cleanDest
            let parent = try makeDirectories(FileSystem.parent(of: target), in: root, owner: owner)
            let path = parent + "/" + FileSystem.basename(target)
            unlinkIfNotDirectory(path)
            try FileSystem.writeFile(path, Array(doc.content.utf8), mode: mode_t(request.mode ?? 0o644))
            lchown(path, owner.0, owner.1)
        }
    }

    /// WORKDIR: makes `path` (absolute) in `root` when it is missing.
    /// - Returns: whether anything was made.
    static func makeDirectory(_ path: String, in root: String, owner: (uid_t, gid_t)?) throws(BerthError) -> Bool {
        if try resolveInRoot(root, String(FilePaths.clean(path).dropFirst())) != nil { return false }
        _ = try makeDirectories(FilePaths.clean(path), in: root, owner: owner ?? (0, 0))
        return true
    }

    /// `mkdir -p` of the absolute `path` inside `root`, each component resolved inside it; new directories are
    /// 0755 and owned by `owner`. Returns the directory's host path.
    static func makeDirectories(_ path: String, in root: String, owner: (uid_t, gid_t)) throws(BerthError) -> String {
        var done = ""
        for part in path.split(separator: "/") {
            let next = done.isEmpty ? String(part) : done + "/" + part
            if let resolved = try resolveInRoot(root, next) {
                var st = stat()
                guard stat(root + "/" + resolved, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                    throw .invalidArgument("cannot make directory /\(next): a file is in the way")
                }
                done = resolved
            } else {
                let host = root + (done.isEmpty ? "" : "/" + done) + "/" + part
                if mkdir(host, 0o755) != 0, errno != EEXIST { throw Syscall.error("mkdir /\(next)", errno: errno) }
                chmod(host, 0o755)
                lchown(host, owner.0, owner.1)
                done = done.isEmpty ? String(part) : done + "/" + part
            }
        }
        return done.isEmpty ? root : root + "/" + done
    }

    /// The contents of the directory `source` into the directory `dest` (both host paths).
    static func copyTree(_ source: String, into dest: String, owner: (uid_t, gid_t), mode: UInt32?) throws(BerthError) {
        for name in try FileSystem.list(source).sorted() {
            let from = source + "/" + name
            let to = dest + "/" + name
            var st = stat()
            guard lstat(from, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                var existing = stat()
                if lstat(to, &existing) == 0, existing.st_mode & S_IFMT != S_IFDIR { unlink(to) }
                if lstat(to, &existing) != 0 {
                    if mkdir(to, 0o700) != 0 { throw Syscall.error("mkdir \(to)", errno: errno) }
                }
                chmod(to, mode.map { mode_t($0) } ?? (st.st_mode & 0o7777))
                lchown(to, owner.0, owner.1)
                try copyTree(from, into: to, owner: owner, mode: mode)
                var times = [st.st_atim, st.st_mtim]
                utimensat(AT_FDCWD, to, &times, AT_SYMLINK_NOFOLLOW)
            } else {
                try copyEntry(from, to: to, owner: owner, mode: mode, follow: false)
            }
        }
    }

    /// One file, symlink or special file; an existing non-directory at `to` is replaced.
    static func copyEntry(_ from: String, to: String, owner: (uid_t, gid_t), mode: UInt32?, follow: Bool)
        throws(BerthError)
    {
        var st = stat()
        guard (follow ? stat(from, &st) : lstat(from, &st)) == 0 else {
            throw Syscall.error("stat \(from)", errno: errno)
        }
        unlinkIfNotDirectory(to)
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            let target = try FileSystem.readLink(from)
            if symlink(target, to) != 0 { throw Syscall.error("symlink \(to)", errno: errno) }
        case S_IFREG:
            let input = open(from, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw Syscall.error("open \(from)", errno: errno) }
            defer { close(input) }
            let output = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw Syscall.error("create \(to)", errno: errno) }
            defer { close(output) }
            var remaining = Int(st.st_size)
            while remaining > 0 {
                let n = sendfile(output, input, nil, min(remaining, 1 << 30))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw Syscall.error("copy \(from)", errno: errno) }
                remaining -= n
            }
            fchown(output, owner.0, owner.1)
            fchmod(output, mode.map { mode_t($0) } ?? (st.st_mode & 0o7777))
        case S_IFIFO, S_IFCHR, S_IFBLK:
            if mknod(to, st.st_mode, st.st_rdev) != 0 { throw Syscall.error("mknod \(to)", errno: errno) }
        default:
            return
        }
        lchown(to, owner.0, owner.1)
        var times = [st.st_atim, st.st_mtim]
        utimensat(AT_FDCWD, to, &times, AT_SYMLINK_NOFOLLOW)
    }

    static func unlinkIfNotDirectory(_ path: String) {
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFDIR { unlink(path) }
    }

    /// Whether ADD should extract `path`: a tar, possibly gzip, bzip2, xz or zstd compressed (the compression
    /// as `ArchiveDigest` sniffs it for layers; a plain tar by its ustar magic).
    static func isArchive(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, st.st_size >= 4, let compression = ArchiveDigest.compression(path: path) else {
            return false
        }
        guard compression == .none else { return true }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 262)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == 262 && Array(head[257..<262]) == Array("ustar".utf8)
    }

    /// `user[:group]` as numeric IDs: names looked up in the root's `/etc/passwd` and `/etc/group`.
    static func owner(_ text: String, in root: String) throws(BerthError) -> (uid_t, gid_t) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func lookup(_ file: String, _ name: String) -> (UInt32, UInt32)? {
            guard let relative = try? resolveInRoot(root, file),
                let text = try? FileSystem.readText(root + "/" + relative)
            else { return nil }
            for line in text.split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count >= 3, f[0] == name, let id = UInt32(f[2]) {
                    return (id, f.count >= 4 ? UInt32(f[3]) ?? id : id)
                }
            }
            return nil
        }
        let user = parts[0]
        var uid: UInt32
        var gid: UInt32
        if let n = UInt32(user) {
            uid = n
            gid = n
        } else if let (u, g) = lookup("etc/passwd", user) {
            uid = u
            gid = g
        } else {
            throw .invalidArgument(
                "unable to convert uid/gid chown string to host mapping: unable to find user \(user)")
        }
        if parts.count > 1, !parts[1].isEmpty {
            if let n = UInt32(parts[1]) {
                gid = n
            } else if let (g, _) = lookup("etc/group", parts[1]) {
                gid = g
            } else {
                throw .invalidArgument(
                    "unable to convert uid/gid chown string to host mapping: unable to find group \(parts[1])")
            }
        }
        return (uid, gid)
    }
}
