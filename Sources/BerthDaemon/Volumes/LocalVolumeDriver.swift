import BerthCore
import BerthOS
import Glibc
import Synchronization

/// Docker's `local` volume driver: a directory `<root>/volumes/<name>/_data`, or, with the `type`, `device` and
/// `o` options, a filesystem mounted there while containers use it (`-o type=tmpfs -o device=tmpfs
/// -o o=size=64m`).
final class LocalVolumeDriver: VolumeDriver {
    let name = "local"
    let root: String
    /// Mounted volumes with options: their users.
    private let users = Mutex<[String: Set<String>]>([:])

    init(root: String) { self.root = root }

    func dataPath(_ volume: String) -> String { "\(root)/\(volume)/_data" }
    func optionsPath(_ volume: String) -> String { "\(root)/\(volume)/opts.json" }

    func create(name volume: String, options: [String: String]) async throws(BerthError) {
        for key in options.keys where !["type", "device", "o", "size"].contains(key) {
            throw .invalidArgument("invalid option: \"\(key)\"")
        }
        if (options["type"] == nil) != (options["device"] == nil), options["type"] != "tmpfs" {
            throw .invalidArgument("missing required option: \"\(options["type"] == nil ? "type" : "device")\"")
        }
        try FileSystem.createDirectory("\(root)/\(volume)", mode: 0o701)
        try FileSystem.createDirectory(dataPath(volume), mode: 0o755)
        if !options.isEmpty {
            try FileSystem.writeFileAtomic(optionsPath(volume), JSONValue.map(options).serialized, mode: 0o600)
        }
    }

    func remove(name volume: String) async throws(BerthError) {
        let busy = users.withLock { !($0[volume]?.isEmpty ?? true) }
        if busy { throw .conflict("volume \(volume) is mounted") }
        try FileSystem.removeTree("\(root)/\(volume)")
    }

    func options(_ volume: String) -> [String: String] {
        guard let bytes = try? FileSystem.readFile(optionsPath(volume)) else { return [:] }
        return (try? JSONValue.parse(bytes: bytes))?.stringMap ?? [:]
    }

    func mount(name volume: String, callerID: String) async throws(BerthError) -> String {
        let path = dataPath(volume)
        guard FileSystem.isDirectory(path) else { throw .notFound("no such volume: \(volume)") }
        let opts = options(volume)
        guard let type = opts["type"] else { return path }
        _ = users.withLock { $0[volume, default: []].insert(callerID) }
        // Mounted already: by another user, or before a daemon restart.
        if Self.isMountPoint(path) { return path }
        let device = opts["device"] ?? type
        var data = opts["o"] ?? ""
        if let size = opts["size"] { data += (data.isEmpty ? "" : ",") + "size=\(size)" }
        if Glibc.mount(device, path, type, 0, data) != 0 {
            let e = errno
            _ = users.withLock { $0[volume]?.remove(callerID) }
            throw Syscall.error("mount volume \(volume) (\(type) \(device))", errno: e)
        }
        return path
    }

    func unmount(name volume: String, callerID: String) async throws(BerthError) {
        guard options(volume)["type"] != nil else { return }
        let last = users.withLock { u -> Bool in
            u[volume]?.remove(callerID)
            return u[volume]?.isEmpty ?? true
        }
        if last, Self.isMountPoint(dataPath(volume)) { umount2(dataPath(volume), Int32(MNT_DETACH)) }
    }

    /// Whether something is mounted on `path` (its device differs from its parent's).
    static func isMountPoint(_ path: String) -> Bool {
        var a = stat()
        var b = stat()
        guard stat(path, &a) == 0, stat(path + "/..", &b) == 0 else { return false }
        return a.st_dev != b.st_dev
    }

    func path(name volume: String) async throws(BerthError) -> String {
        let path = dataPath(volume)
        guard FileSystem.isDirectory(path) else { throw .notFound("no such volume: \(volume)") }
        return path
    }

    func usage(name volume: String) async -> Int64 { FileSystem.diskUsage(dataPath(volume)) }
}
