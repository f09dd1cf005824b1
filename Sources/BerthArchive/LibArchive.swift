import BerthCore
import BerthOS
import CArchive
import Glibc

/// Shared plumbing for the libarchive callers in this module.
enum LibArchive {
    /// `setlocale(LC_ALL, "C.UTF-8")`, run once per process: with the default C locale libarchive cannot convert
    /// non-ASCII names and returns `ARCHIVE_WARN` for them.
    private static let localeConfigured: Bool = {
        _ = setlocale(LC_ALL, "C.UTF-8")
        return true
    }()

    /// Ensures the process locale lets libarchive handle UTF-8 names (idempotent).
    static func ensureLocale() {
        _ = localeConfigured
    }

    /// Options for `archive_write_disk`: full fidelity, refuse writing through symlinks and `..`, and replace
    /// whatever is in the way (a file replacing a directory or a symlink when layers are flattened).
    static let diskWriteOptions: Int32 =
        ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR
        | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS
        | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK

    /// The last error text of `archive`, or `fallback`.
    static func errorString(_ archive: OpaquePointer, _ fallback: String = "unknown error") -> String {
        guard let p = archive_error_string(archive) else { return fallback }
        return String(cString: p)
    }

    /// The error for a failed write or filesystem step inside libarchive (keeps errno when there is one).
    static func writeError(_ archive: OpaquePointer, _ what: String) -> BerthError {
        let e = archive_errno(archive)
        let text = errorString(archive)
        if e > 0 { return BerthError(.system(e), "\(what): \(text)") }
        return BerthError(.internalError, "\(what): \(text)")
    }

    /// `realpath(path)`: the destination of an extraction must not contain symlinks, because libarchive's
    /// `SECURE_SYMLINKS | UNLINK` checks every component of the absolute path and would remove a symlink it finds.
    static func realPath(_ path: String) throws(BerthError) -> String {
        guard let p = realpath(path, nil) else { throw Syscall.error("realpath \(path)", errno: errno) }
        defer { free(p) }
        return String(cString: p)
    }

    /// Removes `trusted.overlay.*` extended attributes from `entry`: they steer overlayfs (opaque, redirect,
    /// origin) and must never come from layer content or leak into a tar.
    static func stripOverlayXattrs(_ entry: OpaquePointer) {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var kept: [(String, [UInt8])] = []
        var dropped = false
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let n = String(cString: name)
            if n.hasPrefix("trusted.overlay.") {
                dropped = true
                continue
            }
            var bytes = [UInt8](repeating: 0, count: size)
            if size > 0, let value {
                bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: value, count: size)) }
            }
            kept.append((n, bytes))
        }
        guard dropped else { return }
        archive_entry_xattr_clear(entry)
        for (n, bytes) in kept {
            bytes.withUnsafeBytes { archive_entry_xattr_add_entry(entry, n, $0.baseAddress, $0.count) }
        }
    }
}
