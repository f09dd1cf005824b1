import ArgumentParser
import BerthAPIClient
import BerthCore
import Glibc

/// Registry credentials the CLI keeps in `~/.berth/config.json` (mode 0600), in Docker's `auths` format:
/// `{"auths": {"HOST:PORT": {"auth": "base64(user:password)"}}}` (Docker Hub as `https://index.docker.io/v1/`).
enum CredentialStore {
    static var path: String {
        let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
        return home + "/.berth/config.json"
    }

    static let hubKey = "https://index.docker.io/v1/"

    /// The registry host an image name points at (`docker.io` for Docker Hub names).
    static func host(ofImage image: String) -> String {
        let first = String(image.prefix { $0 != "/" })
        if image.contains("/"), first.contains(".") || first.contains(":") || first == "localhost" { return first }
        return "docker.io"
    }

    static func key(for server: String) -> String {
        var s = server
        for prefix in ["https://", "http://"] where s.hasPrefix(prefix) { s.removeFirst(prefix.count) }
        s = String(s.prefix { $0 != "/" })
        return s.isEmpty || s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io" ? hubKey : s
    }

    static func load() -> JSONValue {
        guard let bytes = try? readAll(path), let json = try? JSONValue.parse(bytes: bytes) else { return .object([]) }
        return json
    }

    static func save(_ json: JSONValue) throws(CLIError) {
        let dir = String(path.dropLast("/config.json".count))
        mkdir(dir, 0o700)
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let ok = Output.write(fd, Array((json.serialized + "\n").utf8))
        fchmod(fd, 0o600)
        close(fd)
        guard ok, rename(tmp, path) == 0 else { throw CLIError("cannot write \(path)") }
    }

    /// The `X-Registry-Auth` header value for `server` ({} when there are no credentials, as the docker CLI).
    static func header(for server: String) -> String {
        let entry = load()["auths"]?[key(for: server)]
        var user = entry?["username"]?.stringValue ?? ""
        var password = entry?["password"]?.stringValue ?? ""
        if let auth = entry?["auth"]?.stringValue, let raw = Base64.decode(auth) {
            let text = String(decoding: raw, as: UTF8.self)
            if let colon = text.firstIndex(of: ":") {
                user = String(text[..<colon])
                password = String(text[text.index(after: colon)...])
            }
        }
        let json: JSONValue =
            user.isEmpty
            ? .object([])
            : .object([
                ("username", .string(user)), ("password", .string(password)), ("serveraddress", .string(server)),
            ])
        return String(Base64.encode(Array(json.serialized.utf8)).map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// The `X-Registry-Config` header of a build: every registry with kept credentials, so FROM can pull.
    static func registryConfig() -> String {
        var all: [(String, JSONValue)] = []
        for (server, _) in load()["auths"]?.objectMembers ?? [] {
            guard let bytes = Base64.decodeURLSafe(header(for: server)), let entry = try? JSONValue.parse(bytes: bytes),
                entry["username"] != nil
            else { continue }
            all.append((server, entry))
        }
        return String(
            Base64.encode(Array(JSONValue.object(all).serialized.utf8)).map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    private static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError("no file") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }
}

extension Berth {
    /// `berth login`: checks the credentials with the daemon (`POST /auth`) and keeps them.
    struct Login: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "login",
            abstract: "Authenticate to a registry.",
            usage: "berth login [OPTIONS] [SERVER]"
        )

        @ParentCommand var berth: Berth

        @Option(name: .shortAndLong, help: ArgumentHelp("Username", valueName: "string"))
        var username: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Password", valueName: "string"))
        var password: String?

        @Flag(name: .customLong("password-stdin"), help: "Take the password from stdin")
        var passwordStdin = false

        @Argument(help: ArgumentHelp("The registry (Docker Hub by default).", valueName: "server"))
        var server: String?

        func run() throws {
            var user = username ?? ""
            var pass = password ?? ""
            if passwordStdin {
                guard password == nil else { throw CLIError("--password and --password-stdin are mutually exclusive") }
                guard !user.isEmpty else { throw CLIError("Must provide --username with --password-stdin") }
                pass = Self.readLine(fd: 0, echo: true) ?? ""
            }
            if user.isEmpty {
                guard Output.isTerminal(0) else {
                    throw CLIError("Error: Cannot perform an interactive login from a non TTY device")
                }
                Output.out("Username: ")
                user = Self.readLine(fd: 0, echo: true) ?? ""
            }
            if pass.isEmpty, !passwordStdin {
                guard Output.isTerminal(0) else {
                    throw CLIError("Error: Cannot perform an interactive login from a non TTY device")
                }
                Output.out("Password: ")
                pass = Self.readLine(fd: 0, echo: false) ?? ""
                Output.out("\n")
            }
            guard !user.isEmpty else { throw CLIError("Error: Non-null Username Required") }
            let address = server ?? CredentialStore.hubKey
            let body: JSONValue = .object([
                ("username", .string(user)), ("password", .string(pass)), ("serveraddress", .string(address)),
            ])
            _ = try berth.daemon.json("POST", "/auth", body: body)
            var config = CredentialStore.load()
            var auths = config["auths"] ?? .object([])
            auths[CredentialStore.key(for: address)] = .object([
                ("auth", .string(Base64.encode(Array("\(user):\(pass)".utf8))))
            ])
            config["auths"] = auths
            try CredentialStore.save(config)
            Output.line("Login Succeeded")
        }

        /// A line from `fd` without its newline; with `echo` false the terminal does not show it.
        static func readLine(fd: Int32, echo: Bool) -> String? {
            var saved = termios()
            let isTTY = isatty(fd) == 1
            if !echo, isTTY, tcgetattr(fd, &saved) == 0 {
                var quiet = saved
                quiet.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(fd, TCSANOW, &quiet)
            }
            defer { if !echo, isTTY { tcsetattr(fd, TCSANOW, &saved) } }
            var bytes: [UInt8] = []
            var c: UInt8 = 0
            while read(fd, &c, 1) == 1 {
                if c == 0x0A { break }
                bytes.append(c)
            }
            if bytes.last == 0x0D { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `berth logout`: forgets the credentials of a registry.
    struct Logout: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logout",
            abstract: "Log out from a registry.",
            usage: "berth logout [SERVER]"
        )

        @ParentCommand var berth: Berth

        @Argument(help: ArgumentHelp("The registry (Docker Hub by default).", valueName: "server"))
        var server: String?

        func run() throws {
            let key = CredentialStore.key(for: server ?? CredentialStore.hubKey)
            var config = CredentialStore.load()
            guard var auths = config["auths"], auths[key] != nil else {
                Output.line("Not logged in to \(server ?? "Docker Hub")")
                return
            }
            auths[key] = nil
            config["auths"] = auths
            try CredentialStore.save(config)
            Output.line("Removing login credentials for \(key)")
        }
    }
}
