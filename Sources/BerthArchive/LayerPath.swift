import BerthCore
import BerthOS
import Glibc

/// A path from a layer tar, checked and split into components relative to the layer root.
struct LayerPath: Hashable {
    /// Components without empty or `.` parts; empty for the root itself (`./`).
    let components: [String]

    /// The path relative to the root without a leading `/` (`""` for the root).
    var relative: String { components.joined(separator: "/") }

    var isRoot: Bool { components.isEmpty }

    var name: String { components.last ?? "" }

    var parent: LayerPath { LayerPath(components: Array(components.dropLast())) }

    init(components: [String]) {
        self.components = components
    }

    /// Checks `raw` as an entry name: refuses absolute paths and any `..` component.
    /// - Parameter what: how to name the path in errors, e.g. `entry "a/b"` or `hardlink "x" -> "../y"`.
    init(checking raw: String, what: @autoclosure () -> String) throws(BerthError) {
        if raw.hasPrefix("/") { throw .invalidArgument("invalid layer: \(what()) is an absolute path") }
        var parts: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw .invalidArgument("invalid layer: \(what()) escapes the root") }
            parts.append(String(part))
        }
        self.components = parts
    }

    /// `root + "/" + relative`, or `root` itself.
    func host(in root: String) -> String {
        isRoot ? root : root + "/" + relative
    }

    /// Every proper ancestor, from the first component down (`a`, `a/b` for `a/b/c`).
    var ancestors: [LayerPath] {
        guard components.count > 1 else { return [] }
        return (1..<components.count).map { LayerPath(components: Array(components[0..<$0])) }
    }

    /// Refuses the path when one of its directories inside `root` is a symlink (anywhere it points): writing
    /// through it could land outside the layer. Components that do not exist yet end the check.
    /// - Parameter includingSelf: also check the last component (for paths used as directories).
    func checkNoSymlinks(in root: String, includingSelf: Bool = false, what: @autoclosure () -> String)
        throws(BerthError)
    {
        let count = includingSelf ? components.count : components.count - 1
        guard count > 0 else { return }
        var path = root
        for i in 0..<count {
            path += "/" + components[i]
            var st = stat()
            if lstat(path, &st) != 0 {
                if errno == ENOENT || errno == ENOTDIR { return }
                throw Syscall.error("lstat \(path)", errno: errno)
            }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFLNK {
                let link = components[0...i].joined(separator: "/")
                throw .invalidArgument("invalid layer: \(what()) would be written through the symlink \"\(link)\"")
            }
            if kind != S_IFDIR { return }
        }
    }

    /// Creates the missing directories of this path (including itself) with mode 0755, refusing symlinks.
    func createDirectories(in root: String, what: @autoclosure () -> String) throws(BerthError) {
        try checkNoSymlinks(in: root, includingSelf: true, what: what())
        var path = root
        for c in components {
            path += "/" + c
            var st = stat()
            if lstat(path, &st) == 0 {
                if st.st_mode & S_IFMT == S_IFDIR { continue }
                try FileSystem.removeTree(path)
            }
            if mkdir(path, 0o755) != 0, errno != EEXIST { throw Syscall.error("mkdir \(path)", errno: errno) }
        }
    }
}
