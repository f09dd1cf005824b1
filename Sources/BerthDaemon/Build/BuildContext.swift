import BerthArchive
import BerthBuild
import BerthCore
import BerthDockerIgnore
import BerthOS
import Glibc

/// The build context of `POST /build`: a tar (plain or compressed) extracted with the same safety rules as a
/// layer (no absolute names, no `..`, nothing through a symlink), then trimmed by `.dockerignore`.
enum BuildContext {
    static func extract(_ body: [UInt8], into dir: String, scratch: String) throws(BerthError) {
        guard !body.isEmpty else { return }
        try FileSystem.writeFile(scratch, body, mode: 0o600)
        defer { unlink(scratch) }
        do {
            try LayerApplier.apply(archive: scratch, to: dir, whiteouts: .none)
        } catch {
            throw .invalidArgument("the build context is not a valid tar archive: \(error.message)")
        }
    }

    /// The Dockerfile's text: `name` inside the context (as the CLI sends it), also `dockerfile` in lower case.
    static func dockerfile(_ name: String, in context: String) throws(BerthError) -> String {
        let cleaned = FilePaths.clean("/" + name)
        guard !FilePaths.clean(name).hasPrefix("..") else {
            throw .invalidArgument("the Dockerfile (\(name)) must be within the build context")
        }
        var candidates = [context + cleaned]
        if name == "Dockerfile" { candidates.append(context + "/dockerfile") }
        for path in candidates {
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let text = try? FileSystem.readText(path) {
                return text
            }
        }
        throw .invalidArgument(
            "Cannot locate specified Dockerfile: \(name)")
    }

    /// Removes what `.dockerignore` excludes (the Dockerfile and `.dockerignore` themselves stay, as Docker
    /// keeps them for the builder).
    static func applyDockerIgnore(in context: String, keeping dockerfile: String) throws(BerthError) {
        guard let text = try? FileSystem.readText(context + "/.dockerignore") else { return }
        let ignore = try DockerIgnore.parse(text)
        let keep: Set<String> = [FilePaths.clean(dockerfile), ".dockerignore"]
        func walk(_ relative: String) throws(BerthError) {
            let dir = relative.isEmpty ? context : context + "/" + relative
            for name in try FileSystem.list(dir) {
                let path = relative.isEmpty ? name : relative + "/" + name
                var st = stat()
                guard lstat(context + "/" + path, &st) == 0 else { continue }
                let isDir = st.st_mode & S_IFMT == S_IFDIR
                if ignore.matches(path), !keep.contains(path) {
                    if isDir, ignore.mayReinclude(below: path) {
                        try walk(path)
                        // An excluded directory stays only for what it re-includes.
                        if (try? FileSystem.list(context + "/" + path))?.isEmpty == true { rmdir(context + "/" + path) }
                    } else {
                        try FileSystem.removeTree(context + "/" + path)
                    }
                } else if isDir {
                    try walk(path)
                }
            }
        }
        try walk("")
    }
}
