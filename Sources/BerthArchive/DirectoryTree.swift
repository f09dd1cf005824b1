import BerthCore
import BerthOS
import Glibc

/// A sorted walk of a directory, the basis of `mergedTree` for flat layers and of `TarWriter.writeDirectory`.
public enum DirectoryTree {
    /// Every file under `dir` (not `dir` itself), parents before children and siblings in byte order of their
    /// names, so that tars written from the walk are reproducible. Symlinks are listed, never followed.
    /// - Returns: entries whose `path` is relative to `dir` without a leading `/` and whose `hostPath` is
    ///   `dir + "/" + path`.
    public static func entries(of dir: String) throws(BerthError) -> [TreeEntry] {
        var out: [TreeEntry] = []
        try walk(host: dir, relative: "", into: &out)
        return out
    }

    /// `names` sorted by their UTF-8 bytes (locale-independent and stable).
    public static func sorted(_ names: [String]) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func walk(host: String, relative: String, into out: inout [TreeEntry]) throws(BerthError) {
        for name in sorted(try FileSystem.list(host)) {
            let childHost = host + "/" + name
            let childPath = relative.isEmpty ? name : relative + "/" + name
            out.append(TreeEntry(path: childPath, hostPath: childHost))
            var st = stat()
            guard lstat(childHost, &st) == 0 else { throw Syscall.error("lstat \(childHost)", errno: errno) }
            if st.st_mode & S_IFMT == S_IFDIR { try walk(host: childHost, relative: childPath, into: &out) }
        }
    }
}
