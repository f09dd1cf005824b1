import CBerthLinux
import Glibc

/// How overlayfs marks deletions in an upper or diff directory.
public enum OverlayMarkers {
    /// The extended attribute that makes a directory hide the same directory in lower layers.
    public static let opaqueXattr = "trusted.overlay.opaque"

    /// Whether `st` describes an overlay whiteout: a character device 0:0.
    public static func isWhiteout(_ st: stat) -> Bool {
        st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0
    }

    /// Whether the file at `path` (not followed if a symlink) is an overlay whiteout.
    public static func isWhiteout(path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && isWhiteout(st)
    }

    /// Whether the directory at `path` carries `trusted.overlay.opaque=y`.
    public static func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        let n = berth_lgetxattr(path, opaqueXattr, &value, 1)
        return n == 1 && value == UInt8(ascii: "y")
    }
}
