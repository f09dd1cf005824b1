import BerthArchive
import BerthCore
import BerthDockerIgnore
import BerthOS
import CBerthLinux
import Glibc

/// The file work of COPY and ADD (and WORKDIR's directory) on host directories: sources matched in the context
/// (or a mounted image), copied into a container's mounted root with Docker's rules.
///
/// Every path inside a root resolves inside it (`berth_resolve_in_root`): a symlink in the context or the image,
/// absolute or not, never leads outside. A source that is itself a symlink pointing out of the context is an
/// error, as is a source pattern that climbs out with `..`.
public enum FileCopier {
    /// One matched source: its path relative to the source root (symlink-free) and on the host.
    public struct Match: Sendable, Equatable {
        public var relative: String
        public var hostPath: String
        public var isDirectory: Bool
    }

    public struct Request: Sendable {
        var sources: [String]
        var inline: [Heredoc]
        var destination: String
        var chown: String?
        var mode: UInt32?
        var extractArchives: Bool
        var keyword: String
    }

    /// Expands `sources` (paths or wildcards, relative to `root`) to what they name, in order.
    public static func matches(_ sources: [String], in root: String, keyword: String) throws(BerthError) -> [Match] {
        var out: [Match] = []
        for source in sources {
            let cleaned = FilePaths.clean("/" + source)
            if FilePaths.clean(source).hasPrefix("../") || FilePaths.clean(source) == ".." {
                throw .invalidArgument("\(keyword) failed: forbidden path outside the build context: \(source) ()")
            }
            if cleaned.contains(where: { "*?[".contains($0) }) {
                let found = try glob(String(cleaned.dropFirst()), in: root)
                guard !found.isEmpty else {
                    throw .invalidArgument("\(keyword) failed: no source files were specified")
                }
                for relative in found { out.append(try match(relative, in: root, keyword: keyword, named: source)) }
            } else {
                out.append(try match(String(cleaned.dropFirst()), in: root, keyword: keyword, named: source))
            }
        }
        return out
    }

    /// Resolves one source path in `root`, following a symlink it names (inside the root only).
    static func match(_ relative: String, in root: String, keyword: String, named: String) throws(BerthError) -> Match {
        let host = relative.isEmpty ? root : root + "/" + relative
        var st = stat()
        if lstat(host, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let target = try? FileSystem.readLink(host) {
            if target.hasPrefix("/") || escapes(relative, target) {
                throw .invalidArgument(
                    "\(keyword) failed: forbidden path outside the build context: \(named) -> \(target)")
            }
        }
        let resolved = try resolveInRoot(root, relative)
        guard let resolved else {
            throw .notFound(
                "\(keyword) failed: file not found in build context or excluded by .dockerignore: stat \(named): file does not exist"
            )
        }
        let path = resolved.isEmpty ? root : root + "/" + resolved
        guard stat(path, &st) == 0 else {
            throw .notFound(
                "\(keyword) failed: file not found in build context or excluded by .dockerignore: stat \(named): file does not exist"
            )
        }
        return Match(relative: resolved, hostPath: path, isDirectory: st.st_mode & S_IFMT == S_IFDIR)
    }

    /// Whether a relative symlink at `relative` with `target` climbs above the root.
    static func escapes(_ relative: String, _ target: String) -> Bool {
        var depth = relative.split(separator: "/").count - 1
        for part in target.split(separator: "/") {
            if part == ".." { depth -= 1 } else if part != "." { depth += 1 }
            if depth < 0 { return true }
        }
        return false
    }

    /// Paths below `root` matching `pattern` component by component (`*` does not cross `/` and, as Go's
    /// `filepath.Match`, does match a leading `.`), sorted.
    static func glob(_ pattern: String, in root: String) throws(BerthError) -> [String] {
        let parts = pattern.split(separator: "/").map(String.init)
        var current = [""]
        for (i, part) in parts.enumerated() {
            var next: [String] = []
            for base in current {
                let dir = base.isEmpty ? root : root + "/" + base
                if !part.contains(where: { "*?[".contains($0) }) {
                    let candidate = base.isEmpty ? part : base + "/" + part
                    var st = stat()
                    if lstat(root + "/" + candidate, &st) == 0 { next.append(candidate) }
                    continue
                }
                for name in ((try? FileSystem.list(dir)) ?? []).sorted() where fnmatch(part, name, 0) == 0 {
                    let candidate = base.isEmpty ? name : base + "/" + name
                    if i < parts.count - 1 {
                        var st = stat()
                        guard stat(root + "/" + candidate, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
                    }
                    next.append(candidate)
                }
            }
            current = next
        }
        return current
    }

    /// A digest of what the sources hold: names, modes, sizes, link targets and contents, in walk order.
    public static func digest(_ matches: [Match], inline: [Heredoc]) throws(BerthError) -> String {
        let hasher = FastSHA256()
        func add(_ text: String) { hasher.update(Array(text.utf8) + [0]) }
        for m in matches {
            add("source " + m.relative)
            let entries =
                m.isDirectory ? try DirectoryTree.entries(of: m.hostPath) : [TreeEntry(path: "", hostPath: m.hostPath)]
            for entry in entries {
                var st = stat()
                guard lstat(entry.hostPath, &st) == 0 else { continue }
                add("\(entry.path) \(st.st_mode) \(st.st_size)")
                switch st.st_mode & S_IFMT {
                case S_IFLNK: add(try FileSystem.readLink(entry.hostPath))
                case S_IFREG: try hashFile(entry.hostPath, into: hasher)
                default: break
                }
            }
        }
        for doc in inline { add("inline \(doc.name) \(doc.content)") }
        return hasher.finalizeHex()
    }

    static func hashFile(_ path: String, into hasher: FastSHA256) throws(BerthError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Syscall.error("open \(path)", errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            hasher.update(buffer[0..<n])
        }
    }

    /// The symlink-free path of `relative` inside `root` (nil when it does not exist).
    static func resolveInRoot(_ root: String, _ relative: String) throws(BerthError) -> String? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw Syscall.error("open \(root)", errno: errno) }
        defer { close(rootFD) }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX))
        let fd = berth_resolve_in_root(rootFD, relative, &resolved, resolved.count)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Syscall.error("resolve \(relative)", errno: errno)
        }
        close(fd)
        return String(cString: resolved)
    }
}

/// Lexical path handling (Go's `path.Clean`).
public enum FilePaths {
    /// Removes `.`, empty components and `x/..` pairs; keeps a leading `/`; `..` above `/` stays at `/`.
    public static func clean(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if let last = out.last, last != ".." {
                    out.removeLast()
                } else if !absolute {
                    out.append(part)
                }
                continue
            }
            out.append(part)
        }
        let joined = out.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
