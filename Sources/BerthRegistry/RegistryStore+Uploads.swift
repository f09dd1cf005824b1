import BerthArchive
import BerthCore
import BerthOS
import Glibc
import Synchronization

/// One blob upload in progress: a file in `ROOT/uploads/ID` that grows by PATCH and PUT bodies, hashed as it
/// grows. After a restart the hash is rebuilt from the file when the upload finishes.
///
/// `@unchecked Sendable`: a box whose mutable state (fd, size, the non-Sendable hasher) is only touched inside
/// `lock`; one connection feeds it at a time, the lock guards a client racing itself on two connections.
final class UploadSession: @unchecked Sendable {
    let id: String
    let repository: String
    let dataPath: String

    private let lock = Mutex<Void>(())
    private var fd: Int32
    private var bytesWritten: Int
    /// nil after a restart: the digest is then computed from the file at the end.
    private var hasher: FastSHA256?
    private var closed = false

    init(id: String, repository: String, dataPath: String, fd: Int32, size: Int, hashing: Bool) {
        self.id = id
        self.repository = repository
        self.dataPath = dataPath
        self.fd = fd
        self.bytesWritten = size
        self.hasher = hashing ? FastSHA256() : nil
    }

    var size: Int { lock.withLock { _ in bytesWritten } }

    /// Appends `bytes` at the end of the upload.
    func append(_ bytes: UnsafeRawBufferPointer) throws(RegistryError) {
        let failure: BerthError? = lock.withLock { _ in
            if closed { return BerthError(.invalidState, "upload \(id) is finished") }
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress.map { $0 + done }, bytes.count - done, off_t(bytesWritten + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return Syscall.error("write upload \(id)", errno: errno)
                }
                done += n
            }
            hasher?.update(bytes)
            bytesWritten += bytes.count
            return nil
        }
        if let failure { throw .storage("append to upload", failure) }
    }

    /// Closes the file and returns the SHA-256 hex of everything written.
    func finish() throws(RegistryError) -> (hex: String, size: Int) {
        let result: Result<(String, Int), BerthError> = lock.withLock { _ in
            if closed { return .failure(BerthError(.invalidState, "upload \(id) is finished")) }
            closed = true
            let fd = self.fd
            defer { close(fd) }
            if let hasher { return .success((hasher.finalizeHex(), bytesWritten)) }
            let hasher = FastSHA256()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var offset = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return .failure(Syscall.error("read upload \(id)", errno: errno))
                }
                if n == 0 { break }
                hasher.update(buffer[0..<n])
                offset += n
            }
            return .success((hasher.finalizeHex(), offset))
        }
        switch result {
        case .success(let r): return r
        case .failure(let e): throw .storage("finish upload", e)
        }
    }

    func abandon() {
        lock.withLock { _ in
            if !closed {
                closed = true
                close(fd)
            }
        }
    }
}

extension RegistryStore {
    func uploadDirectory(_ id: String) -> String { "\(root)/uploads/\(id)" }

    /// Starts an upload into repository `name`.
    func startUpload(_ name: String) throws(RegistryError) -> UploadSession {
        let id = Self.newUploadID()
        let dir = uploadDirectory(id)
        do {
            try FileSystem.createDirectory(dir)
            try FileSystem.writeFile(dir + "/repository", name)
            let fd = try Syscall.call("create upload") {
                open(dir + "/data", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            }
            let session = UploadSession(
                id: id, repository: name, dataPath: dir + "/data", fd: fd, size: 0, hashing: true)
            uploads.withLock { $0[id] = session }
            return session
        } catch {
            try? FileSystem.removeTree(dir)
            throw .storage("start upload", error)
        }
    }

    /// The upload `id` of repository `name`, reopened from disk when the registry restarted since it began.
    func upload(_ name: String, id: String) throws(RegistryError) -> UploadSession {
        guard Self.isUploadID(id) else { throw .blobUploadUnknown(id) }
        if let session = uploads.withLock({ $0[id] }) {
            guard session.repository == name else { throw .blobUploadUnknown(id) }
            return session
        }
        let dir = uploadDirectory(id)
        guard let owner = try? FileSystem.readText(dir + "/repository"), owner == name else {
            throw .blobUploadUnknown(id)
        }
        let fd = open(dir + "/data", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .blobUploadUnknown(id) }
        var st = stat()
        fstat(fd, &st)
        let session = UploadSession(
            id: id, repository: name, dataPath: dir + "/data", fd: fd, size: Int(st.st_size), hashing: false)
        return uploads.withLock { table in
            if let other = table[id] {
                session.abandon()
                return other
            }
            table[id] = session
            return session
        }
    }

    /// Completes an upload: the content must hash to `digest` (and be `expectedSize` long when given); it then
    /// becomes a blob of the session's repository. The upload is gone afterwards either way.
    func finishUpload(_ session: UploadSession, digest: String) throws(RegistryError) {
        defer { cancelUpload(session) }
        guard let wanted = RegistryNames.sha256Hex(digest) else {
            throw .digestInvalid("unsupported digest \(digest)")
        }
        let (hex, size) = try session.finish()
        guard hex == wanted else {
            throw .digestInvalid("content of \(size) bytes has digest sha256:\(hex), not \(digest)")
        }
        try adopt(file: session.dataPath, hex: hex)
        try link(session.repository, blob: hex)
    }

    /// Drops an upload and its file.
    func cancelUpload(_ session: UploadSession) {
        session.abandon()
        uploads.withLock { _ = $0.removeValue(forKey: session.id) }
        try? FileSystem.removeTree(uploadDirectory(session.id))
    }

    /// Removes uploads untouched for `age` seconds (abandoned by their clients), as the registry starts.
    /// - Returns: how many were removed.
    @discardableResult
    public func purgeUploads(olderThan age: Int) -> Int {
        let now = time(nil)
        var removed = 0
        for id in (try? FileSystem.list(root + "/uploads")) ?? [] {
            let dir = uploadDirectory(id)
            var st = stat()
            let modified = stat(dir + "/data", &st) == 0 ? Int(st.st_mtim.tv_sec) : 0
            guard now - modified >= age, uploads.withLock({ $0[id] == nil }) else { continue }
            try? FileSystem.removeTree(dir)
            removed += 1
        }
        return removed
    }

    /// 32 random hex digits.
    static func newUploadID() -> String {
        var rng = SystemRandomNumberGenerator()
        let a = rng.next() as UInt64
        let b = rng.next() as UInt64
        return hex(a) + hex(b)
    }

    private static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func isUploadID(_ id: String) -> Bool {
        id.utf8.count == 32
            && id.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }
}
