import BerthArchive
import BerthCore
import BerthOS
import CXCrypt
import Glibc
import Synchronization

/// Basic authentication against an htpasswd file (`user:hash` lines, as `htpasswd -B` writes them; bcrypt and
/// the SHA-crypt forms `$5$`/`$6$`, through libxcrypt). A bcrypt check costs tens of milliseconds and clients
/// send their credentials with every request, so pairs that passed once are remembered (as a SHA-256, not in
/// the clear) until the registry stops.
public final class RegistryAuth: Sendable {
    public let realm: String
    let users: [String: String]
    private let accepted = Mutex<Set<String>>([])

    /// Reads `path`; every line must be `user:hash` with a hash libxcrypt knows.
    public init(htpasswd path: String, realm: String) throws(BerthError) {
        self.realm = realm
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw BerthError(error.code, "htpasswd file \(path): \(error.message)")
        }
        var users: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw .invalidArgument("htpasswd file \(path), line \(number + 1): expected user:hash")
            }
            let hash = String(line[line.index(after: colon)...])
            guard ["$2y$", "$2b$", "$2a$", "$5$", "$6$"].contains(where: { hash.hasPrefix($0) }) else {
                throw .invalidArgument(
                    "htpasswd file \(path), line \(number + 1): unsupported hash (use bcrypt: htpasswd -B)")
            }
            users[String(line[..<colon])] = hash
        }
        guard !users.isEmpty else { throw .invalidArgument("htpasswd file \(path) has no users") }
        self.users = users
    }

    /// Whether an `Authorization` header carries the credentials of a known user.
    func authorizes(_ header: String?) -> Bool {
        guard let header, header.lowercased().hasPrefix("basic "),
            let decoded = Base64.decode(String(header.dropFirst(6)).trimmingSpaces)
        else { return false }
        let pair = String(decoding: decoded, as: UTF8.self)
        guard let colon = pair.firstIndex(of: ":") else { return false }
        let user = String(pair[..<colon])
        let password = String(pair[pair.index(after: colon)...])
        guard let hash = users[user] else { return false }
        let key = FastSHA256.hash(Array(hash.utf8) + [0] + Array(password.utf8))
        if accepted.withLock({ $0.contains(key) }) { return true }
        guard Self.verify(password: password, hash: hash) else { return false }
        accepted.withLock { _ = $0.insert(key) }
        return true
    }

    /// crypt_r(password, hash) == hash, compared in constant time.
    static func verify(password: String, hash: String) -> Bool {
        var data = crypt_data()
        guard let out = crypt_r(password, hash, &data) else { return false }
        let computed = Array(String(cString: out).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<computed.count { diff |= computed[i] ^ expected[i] }
        return diff == 0
    }
}
