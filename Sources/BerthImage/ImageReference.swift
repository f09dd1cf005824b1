import BerthCore

/// An image name as users write it (`busybox`, `busybox:1.35`, `localhost:5000/app:v1`,
/// `docker.io/library/busybox:latest`, `name@sha256:…`), normalized the way Docker shows it.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    /// Repository as shown: `busybox`, `localhost:5000/app` (docker.io/library/ is dropped).
    public var repository: String
    public var tag: String?
    public var digest: String?

    public init(parsing text: String) throws(BerthError) {
        var s = text
        if let at = s.firstIndex(of: "@") {
            digest = String(s[s.index(after: at)...])
            s = String(s[..<at])
        }
        // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
        let lastSlash = s.lastIndex(of: "/")
        if let colon = s.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            tag = String(s[s.index(after: colon)...])
            s = String(s[..<colon])
        }
        for prefix in ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"]
        where s.hasPrefix(prefix) {
            s = String(s.dropFirst(prefix.count))
            break
        }
        repository = s
        try validate(original: text)
        if tag == nil, digest == nil { tag = "latest" }
    }

    func validate(original: String) throws(BerthError) {
        func bad() -> BerthError { .invalidArgument("invalid reference format: \(original)") }
        guard !repository.isEmpty, repository.count <= 255 else { throw bad() }
        let components = repository.split(separator: "/", omittingEmptySubsequences: false)
        for (i, c) in components.enumerated() {
            guard !c.isEmpty else { throw bad() }
            // The first component may be a registry host (with a port, dots, capitals).
            let isHost = i == 0 && components.count > 1 && (c.contains(".") || c.contains(":") || c == "localhost")
            for ch in c.unicodeScalars {
                let ok =
                    ("a"..."z").contains(ch) || ("0"..."9").contains(ch) || ch == "." || ch == "_" || ch == "-"
                    || (isHost && (("A"..."Z").contains(ch) || ch == ":"))
                if !ok {
                    if ("A"..."Z").contains(ch) {
                        throw .invalidArgument(
                            "invalid reference format: repository name (\(repository)) must be lowercase")
                    }
                    throw bad()
                }
            }
        }
        if let tag {
            guard !tag.isEmpty, tag.count <= 128,
                tag.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
                        || $0 == "." || $0 == "-"
                })
            else { throw bad() }
        }
    }

    /// `repository:tag` (or `repository@digest`).
    public var description: String {
        if let tag { return "\(repository):\(tag)" }
        return "\(repository)@\(digest ?? "")"
    }
}
