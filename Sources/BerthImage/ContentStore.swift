import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// Content-addressed blobs under `<root>/content/blobs/sha256/<hex>`: manifests, configs, layer tars.
/// Every blob is verified against its digest when it is stored.
public struct ContentStore: Sendable {
    public let root: String
    /// Downloads and other blobs being made (on the same filesystem, so they are renamed in).
    public let tmpDir: String

    public init(root: String) throws(BerthError) {
        self.root = root + "/content/blobs/sha256"
        tmpDir = root + "/content/tmp"
        try FileSystem.createDirectory(self.root)
        try FileSystem.createDirectory(tmpDir)
    }

    public func path(hex: String) -> String { "\(root)/\(hex)" }

    /// Clears `tmpDir` as the daemon starts, when nothing is being made: leftovers of a crash go, and partial
    /// downloads (`HEX.partial`, kept so that a repeated pull resumes) go once they are `partialAge` seconds
    /// old, abandoned.
    /// - Returns: how many files were removed.
    @discardableResult
    public func sweepTemporaryFiles(partialAge: Int) -> Int {
        let now = time(nil)
        var removed = 0
        for name in (try? FileSystem.list(tmpDir)) ?? [] {
            let path = tmpDir + "/" + name
            if name.hasSuffix(".partial") {
                var st = stat()
                guard lstat(path, &st) == 0, now - st.st_mtim.tv_sec >= partialAge else { continue }
            }
            try? FileSystem.removeTree(path)
            removed += 1
        }
        return removed
    }

    public func exists(hex: String) -> Bool { FileSystem.exists(path(hex: hex)) }

    /// Stores `bytes` and returns their digest (`sha256:<hex>`).
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(BerthError) -> String {
        let hex = SHA256.hash(bytes)
        if !exists(hex: hex) { try FileSystem.writeFileAtomic(path(hex: hex), bytes) }
        return "sha256:" + hex
    }

    /// Moves the file at `source` in as the blob `hex`, after checking its digest.
    public func adopt(file source: String, hex: String, verify: Bool = true) throws(BerthError) {
        if verify {
            var h = SHA256()
            let bytes = try FileSystem.readFile(source)
            h.update(bytes)
            guard h.finalizeHex() == hex else { throw .invalidArgument("digest mismatch for blob sha256:\(hex)") }
        }
        if exists(hex: hex) {
            unlink(source)
            return
        }
        try Syscall.call("rename blob") { rename(source, path(hex: hex)) }
    }

    /// Moves the file at `source` in under its own digest (computed reading it in 1 MiB pieces).
    /// - Returns: its digest (`sha256:<hex>`) and size.
    public func adoptHashing(file source: String) throws(BerthError) -> (digest: String, size: Int64) {
        let fd = try Syscall.call("open \(source)") { open(source, O_RDONLY | O_CLOEXEC) }
        let h = FastSHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0 {
                let e = errno
                close(fd)
                throw Syscall.error("read \(source)", errno: e)
            }
            if n == 0 { break }
            h.update(buffer[0..<n])
            size += Int64(n)
        }
        close(fd)
        let hex = h.finalizeHex()
        try adopt(file: source, hex: hex, verify: false)
        return ("sha256:" + hex, size)
    }

    public func read(hex: String) throws(BerthError) -> [UInt8] {
        let bytes = try FileSystem.readFile(path(hex: hex))
        guard SHA256.hash(bytes) == hex else { throw .internalError("blob sha256:\(hex) is corrupt") }
        return bytes
    }

    public func remove(hex: String) { unlink(path(hex: hex)) }
}
