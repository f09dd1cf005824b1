import BerthArchive
import BerthCore
import BerthOS
import BerthRuntime
import CBerthLinux
import Glibc

/// The archive API behind `docker cp`: stat (HEAD), read (GET, a tar) and write (PUT, a tar extracted) a path
/// inside a container. Paths resolve inside the container's root: `..` stops there and symlinks, absolute or
/// not, are followed inside it, so nothing outside the container is ever read or written.
///
/// A running container's files are handled by a helper (`berthd --in-container PID ...`) that enters its mount
/// namespace first, so every path, even one a process in the container changes meanwhile, resolves in the
/// container and never on the host. A stopped container's layers are mounted on a temporary directory.
public enum ContainerFiles {
    /// A path of a container resolved inside its root filesystem.
    struct ResolvedPath: Sendable {
        /// The directory the container's root is at (`/` in the helper, a temporary mount otherwise).
        let root: String
        /// The symlink-free path below the root of the directory holding the target (`""` for the root).
        let parent: String
        /// The last component as asked (`.` for a trailing `/` or `/.`), and its stat.
        let name: String
        let stat: Glibc.stat?

        var hostPath: String {
            let base = root == "/" ? "" : root
            return base + "/" + (parent.isEmpty ? "" : parent + "/") + (name == "." ? "" : name)
        }
    }

    /// Resolves `path` (absolute in the container) inside `root`; a missing last component has a nil stat.
    static func resolve(_ path: String, in root: String) throws(BerthError) -> ResolvedPath {
        guard path.hasPrefix("/") else { throw .invalidArgument("path must be absolute: \(path)") }
        var components = path.split(separator: "/").map(String.init)
        var name = components.popLast() ?? "."
        if path.hasSuffix("/"), name != "." {
            components.append(name)
            name = "."
        }
        if name == ".." {
            components.append(name)
            name = "."
        }
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw Syscall.error("open the container's root", errno: errno) }
        defer { close(rootFD) }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX))
        let dirFD = berth_resolve_in_root(rootFD, components.joined(separator: "/"), &resolved, resolved.count)
        guard dirFD >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .notFound("Could not find the file \(path) in container") }
            throw Syscall.error("resolve \(path) in the container", errno: errno)
        }
        defer { close(dirFD) }
        var st = Glibc.stat()
        let found = name == "." ? fstat(dirFD, &st) == 0 : fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0
        if !found, name == "." { throw .notFound("Could not find the file \(path) in container") }
        return ResolvedPath(root: root, parent: String(nulTerminated: resolved), name: name, stat: found ? st : nil)
    }

    /// The `X-Docker-Container-Path-Stat` header value: base64 of `{"name","size","mode","mtime","linkTarget"}`
    /// with Go's `os.FileMode` bits.
    static func statHeader(_ p: ResolvedPath) -> String {
        guard let st = p.stat else { return "" }
        var mode = UInt64(st.st_mode & 0o777)
        if st.st_mode & S_ISUID != 0 { mode |= 1 << 23 }
        if st.st_mode & S_ISGID != 0 { mode |= 1 << 22 }
        if st.st_mode & S_ISVTX != 0 { mode |= 1 << 20 }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: mode |= 1 << 31
        case S_IFLNK: mode |= 1 << 27
        case S_IFIFO: mode |= 1 << 25
        case S_IFSOCK: mode |= 1 << 24
        case S_IFCHR: mode |= 1 << 26 | 1 << 21
        case S_IFBLK: mode |= 1 << 26
        default: break
        }
        var link = ""
        if st.st_mode & S_IFMT == S_IFLNK { link = (try? FileSystem.readLink(p.hostPath)) ?? "" }
        let name = p.name == "." ? FileSystem.basename(p.parent.isEmpty ? "/" : p.parent) : p.name
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let json: JSONValue = .object([
            ("name", .string(name)), ("size", .int(Int64(st.st_size))), ("mode", .int(Int64(mode))),
            ("mtime", .string(Clock.rfc3339Nano(mtime))), ("linkTarget", .string(link)),
        ])
        return Base64.encode(Array(json.serialized.utf8))
    }

    /// The stat header of `path`.
    static func stat(root: String, path: String) throws(BerthError) -> String {
        let p = try resolve(path, in: root)
        guard p.stat != nil else { throw .notFound("Could not find the file \(path) in container") }
        return statHeader(p)
    }

    /// Writes `path` as a tar, named by its last component, to `fd`; returns its stat header.
    static func archive(root: String, path: String, to fd: Int32) throws(BerthError) -> String {
        let p = try resolve(path, in: root)
        guard let st = p.stat else { throw .notFound("Could not find the file \(path) in container") }
        let host = p.hostPath
        var entries = [TreeEntry(path: p.name, hostPath: host)]
        if st.st_mode & S_IFMT == S_IFDIR {
            entries += try DirectoryTree.entries(of: host).map {
                TreeEntry(path: p.name + "/" + $0.path, hostPath: $0.hostPath)
            }
        }
        try TarWriter.write(entries: entries, to: fd)
        return statHeader(p)
    }

    /// Extracts the tar read from `fd` (a seekable file) into the directory `path`.
    static func extract(root: String, path: String, from fd: Int32, noOverwriteDirNonDir: Bool) throws(BerthError) {
        var target = try resolve(path, in: root)
        guard let st = target.stat else { throw .notFound("Could not find the file \(path) in container") }
        // A symlink to a directory: extract where it points, inside the container.
        if st.st_mode & S_IFMT == S_IFLNK { target = try resolve(path + "/.", in: root) }
        guard let tst = target.stat, tst.st_mode & S_IFMT == S_IFDIR else {
            throw .invalidArgument("extraction point is not a directory")
        }
        let dir = target.hostPath
        if noOverwriteDirNonDir {
            // As the docker CLI asks: an existing directory is never replaced by a non-directory, nor the other
            // way round.
            for entry in try TarListing.entries(fd: fd) where !entry.path.isEmpty && entry.path != "." {
                var est = Glibc.stat()
                guard lstat(dir + "/" + entry.path, &est) == 0 else { continue }
                let isDir = est.st_mode & S_IFMT == S_IFDIR
                if isDir && !entry.isDirectory {
                    throw .invalidArgument("cannot overwrite directory \"/\(entry.path)\" with non-directory")
                }
                if !isDir && entry.isDirectory {
                    throw .invalidArgument("cannot overwrite non-directory \"/\(entry.path)\" with directory")
                }
            }
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw Syscall.error("rewind the archive", errno: errno) }
        }
        try LayerApplier.apply(archiveFD: fd, to: dir, whiteouts: .none)
    }

    /// `berthd --in-container PID OP PATH [FILE [0|1]]`: runs one operation inside the mount namespace of `PID`
    /// (opening FILE on the host first) and exits; nil when the arguments ask for something else. Must run
    /// before the process starts any thread (setns into a mount namespace requires a single thread).
    public static func runIfAsked(_ args: [String]) -> Int32? {
        guard args.count >= 5, args[1] == "--in-container", let pid = Int32(args[2]) else { return nil }
        let op = args[3]
        let path = args[4]
        func fail(_ e: BerthError) -> Int32 {
            let code = e.code == .notFound ? 404 : e.code == .invalidArgument ? 400 : 500
            let message = "\(code) \(e.message)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
            return 1
        }
        var fileFD: Int32 = -1
        if args.count >= 6 {
            let flags = op == "archive" ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC
            fileFD = open(args[5], flags)
            if fileFD < 0 { return fail(Syscall.error("open \(args[5])", errno: errno)) }
        }
        let pidFD = berth_pidfd_open(pid)
        guard pidFD >= 0, berth_setns(pidFD, BERTH_CLONE_NEWNS) == 0 else {
            return fail(Syscall.error("enter the container's mount namespace", errno: errno))
        }
        do throws(BerthError) {
            var out = ""
            switch op {
            case "stat": out = try stat(root: "/", path: path)
            case "archive": out = try archive(root: "/", path: path, to: fileFD)
            case "extract":
                try extract(root: "/", path: path, from: fileFD, noOverwriteDirNonDir: args.count > 6 && args[6] == "1")
            default: throw .invalidArgument("unknown operation \(op)")
            }
            _ = out.withCString { write(1, $0, strlen($0)) }
            return 0
        } catch {
            return fail(error)
        }
    }
}

extension ContainerService {
    /// Runs a `ContainerFiles` operation on a container: in its mount namespace through the helper while it
    /// runs, on a temporary mount of its layers otherwise. `file` is opened for the operation (write for
    /// `archive`, read for `extract`).
    nonisolated func containerFiles(
        _ ref: String, op: String, path: String, file: String? = nil, flag: Bool = false
    ) async throws(BerthError) -> String {
        let record = try await lookup(ref)
        if record.isRunning, record.pid > 0 {
            var args = ["--in-container", String(record.pid), op, path]
            if let file { args += [file, flag ? "1" : "0"] }
            let self_ = (try? FileSystem.readLink("/proc/self/exe")) ?? CommandLine.arguments[0]
            let result = try HostCommand.run(self_, args)
            if result.status == 0 { return String(decoding: result.stdout, as: UTF8.self) }
            let text = String(decoding: result.stderr, as: UTF8.self).trimmingSpaces
            let space = text.firstIndex(of: " ") ?? text.endIndex
            let message = space < text.endIndex ? String(text[text.index(after: space)...]) : text
            switch text[..<space] {
            case "404": throw .notFound(message)
            case "400": throw .invalidArgument(message)
            default: throw .internalError(message.isEmpty ? "container file operation failed" : message)
            }
        }
        var fd: Int32 = -1
        if let file {
            fd = open(file, op == "archive" ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw Syscall.error("open \(file)", errno: errno) }
        }
        defer { if fd >= 0 { close(fd) } }
        let descriptor = fd
        return try await withMountedRoot(of: record) { (dir) throws(BerthError) -> String in
            try Self.fileOperation(op, root: dir, path: path, fd: descriptor, flag: flag)
        }
    }

    /// Mounts the layers of a container that is not running on a private temporary directory, runs `body`
    /// with it, and unmounts (also when `body` throws).
    nonisolated func withMountedRoot<T>(
        of record: ContainerRecord, _ body: (String) async throws(BerthError) -> T
    ) async throws(BerthError) -> T {
        let mounts = try await storage.mounts(for: record.id)
        let dir = "\(configuration.execRoot)/cp-\(record.shortID)-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.createDirectory(dir, mode: 0o700)
        defer { rmdir(dir) }
        var mounted = 0
        defer { for _ in 0..<mounted { umount2(dir, Int32(MNT_DETACH)) } }
        for m in mounts {
            let rc =
                m.isBind
                ? mount(m.source, dir, nil, UInt(MS_BIND | MS_REC), nil)
                : mount(m.source, dir, m.type, 0, m.options.joined(separator: ","))
            if rc != 0 { throw Syscall.error("mount the container's filesystem", errno: errno) }
            mounted += 1
        }
        return try await body(dir)
    }

    static func fileOperation(_ op: String, root dir: String, path: String, fd: Int32, flag: Bool) throws(BerthError)
        -> String
    {
        switch op {
        case "stat": return try ContainerFiles.stat(root: dir, path: path)
        case "archive": return try ContainerFiles.archive(root: dir, path: path, to: fd)
        default:
            try ContainerFiles.extract(root: dir, path: path, from: fd, noOverwriteDirNonDir: flag)
            return ""
        }
    }

    /// `HEAD /containers/{id}/archive`.
    nonisolated func statPath(_ ref: String, path: String) async throws(BerthError) -> String {
        try await containerFiles(ref, op: "stat", path: path)
    }

    /// `GET /containers/{id}/archive`: the path as a tar in a temporary file (streamed and removed by the
    /// caller), and its stat header.
    nonisolated func archivePath(_ ref: String, path: String, tmpDir: String) async throws(BerthError) -> (
        file: String, stat: String
    ) {
        try FileSystem.createDirectory(tmpDir)
        let file = "\(tmpDir)/archive-\(Identifier.random().prefix(16)).tar"
        let fd = try Syscall.call("create \(file)") { open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        close(fd)
        do {
            let header = try await containerFiles(ref, op: "archive", path: path, file: file)
            return (file, header)
        } catch {
            unlink(file)
            throw error
        }
    }

    /// `PUT /containers/{id}/archive`: extracts the tar at `archive` into the directory `path` of the container.
    nonisolated func extractArchive(_ ref: String, path: String, archive: String, noOverwriteDirNonDir: Bool)
        async throws(BerthError)
    {
        let record = try await lookup(ref)
        if record.hostConfig["ReadonlyRootfs"]?.boolValue == true {
            throw .forbidden("container rootfs is marked read-only")
        }
        _ = try await containerFiles(ref, op: "extract", path: path, file: archive, flag: noOverwriteDirNonDir)
        await events.publish(
            type: "container", action: "extract-to-dir", id: record.id, attributes: ["name": record.name])
    }
}
