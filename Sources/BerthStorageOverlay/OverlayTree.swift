import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// The merged view of a stack of overlay diff dirs, computed without mounting (what overlayfs would show).
///
/// Rules, from the topmost layer down: the topmost non-directory wins; directories merge; a whiteout (character
/// device 0:0) hides the name in every lower layer; an opaque directory hides the same directory in lower
/// layers; a non-directory or whiteout below a directory ends that directory's merge. Whiteouts are not listed.
enum OverlayTree {
    /// - Parameter layers: diff dirs, topmost first.
    /// - Returns: parents before children, siblings sorted by name; `hostPath` is in the layer that provides it.
    static func entries(layers: [String]) throws(BerthError) -> [TreeEntry] {
        var out: [TreeEntry] = []
        try merge(relative: "", sources: layers, into: &out)
        return out
    }

    private enum Node {
        case hidden
        case file(String)
        /// Host dirs to merge, topmost first; `closed` once a lower layer may no longer contribute.
        case directory([String], closed: Bool)
    }

    private static func merge(relative: String, sources: [String], into out: inout [TreeEntry]) throws(BerthError) {
        var nodes: [String: Node] = [:]
        for source in sources {
            for name in try FileSystem.list(source) {
                let host = source + "/" + name
                var st = stat()
                guard lstat(host, &st) == 0 else { throw Syscall.error("lstat \(host)", errno: errno) }
                let isDir = st.st_mode & S_IFMT == S_IFDIR
                switch nodes[name] {
                case nil:
                    if OverlayMarkers.isWhiteout(st) {
                        nodes[name] = .hidden
                    } else if isDir {
                        nodes[name] = .directory([host], closed: OverlayMarkers.isOpaque(host))
                    } else {
                        nodes[name] = .file(host)
                    }
                case .directory(let hosts, closed: false):
                    if isDir {
                        nodes[name] = .directory(hosts + [host], closed: OverlayMarkers.isOpaque(host))
                    } else {
                        nodes[name] = .directory(hosts, closed: true)
                    }
                default:
                    break
                }
            }
        }
        for name in DirectoryTree.sorted(Array(nodes.keys)) {
            let path = relative.isEmpty ? name : relative + "/" + name
            switch nodes[name] {
            case .file(let host):
                out.append(TreeEntry(path: path, hostPath: host))
            case .directory(let hosts, _):
                out.append(TreeEntry(path: path, hostPath: hosts[0]))
                try merge(relative: path, sources: hosts, into: &out)
            case .hidden, nil:
                break
            }
        }
    }
}
