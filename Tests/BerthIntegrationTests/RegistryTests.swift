import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// Which registry server a test runs against.
enum RegistryKind: String, CustomStringConvertible, CaseIterable, Sendable {
    /// Debian's `docker-registry` (distribution 2.8).
    case distribution
    /// Berth's own `berth-registry`.
    case berth
    var description: String { rawValue }
}

/// A registry on 127.0.0.1 with a throwaway config and storage, fed by `skopeo copy` from an OCI layout made by
/// contrib/mkimage-oci.py: Debian's `docker-registry` (distribution 2.8) or Berth's own `berth-registry`.
/// Stopped and removed afterwards.
final class LocalRegistry {
    let kind: RegistryKind
    let dir: String
    let port: Int
    let process: Process
    var host: String { "127.0.0.1:\(port)" }

    /// - Parameter user: basic authentication with this user and password (an htpasswd file, bcrypt).
    /// - Parameter tls: serve HTTPS with this certificate and key.
    init(
        in parent: String, kind: RegistryKind = .distribution, user: (String, String)? = nil,
        tls: (cert: String, key: String)? = nil
    ) throws {
        self.kind = kind
        dir = parent + "/registry"
        try FileManager.default.createDirectory(atPath: dir + "/storage", withIntermediateDirectories: true)
        port = try Self.freePort()
        var auth = ""
        if let (name, password) = user {
            let hash = try run(
                "/usr/bin/python3",
                [
                    "-W", "ignore", "-c",
                    "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", password,
                ])
            try "\(name):\(hash.output.trimmingSpaces)\n".write(
                toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            auth = """

                auth:
                  htpasswd:
                    realm: test-realm
                    path: \(dir)/htpasswd
                """
        }
        if let tls {
            auth += """

                  tls:
                    certificate: \(tls.cert)
                    key: \(tls.key)
                """
        }
        let config = """
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: \(dir)/storage
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            """ + auth
        try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        process = Process()
        switch kind {
        case .distribution:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
            process.arguments = ["serve", dir + "/config.yml"]
        case .berth:
            process.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth-registry")
            var args = ["serve", "--addr", host, "--root", dir + "/storage", "--log-level", "error"]
            if user != nil { args += ["--htpasswd", dir + "/htpasswd", "--realm", "test-realm"] }
            if let tls { args += ["--tls-cert", tls.cert, "--tls-key", tls.key] }
            process.arguments = args
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<100 {
            if tls != nil,
                (try? run(
                    "/usr/bin/python3", ["-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"]
                ).status) == 0
            {
                return
            }
            if (try? Self.get("http://127.0.0.1:\(port)/")) != nil { return }
            usleep(50_000)
        }
        stop()
        throw TestFailure("\(kind) registry did not start on port \(port)")
    }

    func stop() {
        if process.isRunning {
            // SIGKILL: a child started from a test thread inherits its blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// Pushes the OCI layout `layout:tag` as `repository:tag` with skopeo.
    func push(layout: String, tag: String, as repository: String) throws {
        let r = try run(
            "/usr/bin/skopeo",
            [
                "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):\(tag)",
                "docker://\(host)/\(repository):\(tag)",
            ])
        guard r.status == 0 else { throw TestFailure("skopeo copy failed: \(r.output)") }
    }

    /// The file the registry keeps blob `hex` in.
    func blobPath(_ hex: String) -> String {
        switch kind {
        case .distribution: return "\(dir)/storage/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
        case .berth: return "\(dir)/storage/blobs/sha256/\(hex)"
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func get(_ url: String) throws -> String {
        let r = try run(
            "/usr/bin/python3",
            ["-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=2).status)", url])
        guard r.status == 0 else { throw TestFailure("GET \(url): \(r.output)") }
        return r.output
    }
}

/// A proxy of Tests/Fixtures in front of `registry` on a free port: cutting-proxy.py cuts each blob's first
/// download halfway, or with `slow` sends blobs at about 1 MB/s; token-proxy.py demands Bearer tokens that
/// its own token service issues for `user`.
final class ProxyFixture {
    let port: Int
    let process = Process()

    convenience init(in registry: LocalRegistry, slow: Bool) throws {
        try self.init(script: "cutting-proxy.py", registry.host, slow ? ["slow"] : [])
    }

    convenience init(in registry: LocalRegistry, tokensFor user: (String, String)) throws {
        try self.init(script: "token-proxy.py", registry.host, [user.0, user.1])
    }

    private init(script: String, _ upstream: String, _ args: [String]) throws {
        port = try LocalRegistry.freePort()
        process.executableURL = URL(fileURLWithPath: TestDaemon.repoRoot + "/Tests/Fixtures/" + script)
        process.arguments = [String(port), upstream] + args
        try process.run()
        for _ in 0..<100 {
            if (try? run("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/v2/"]))?.status == 0 {
                break
            }
            usleep(50_000)
        }
    }

    func stop() {
        // SIGKILL: a child started from a test thread inherits its blocked SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite(.serialized)
struct RegistryTests {
    /// An OCI layout of the busybox image plus a second layer with /hello; returns its manifest digest.
    static func makeLayout(_ d: TestDaemon, tag: String) throws -> (dir: String, digest: String) {
        let base = try d.makeBusyboxTar()
        let second = d.root + "/second.tar"
        try TarBuilder.write([.dir("etc/"), .file("hello", "hello from layer two\n")], to: second)
        let dir = d.root + "/oci"
        let r = try run(TestDaemon.repoRoot + "/contrib/mkimage-oci.py", [dir, tag, base, second])
        guard r.status == 0 else { throw TestFailure("mkimage-oci.py: \(r.output)") }
        return (dir, r.output.trimmingSpaces)
    }

    /// Pull by tag and by digest from a real registry, run the image, up-to-date pulls, and Docker's errors for a
    /// missing tag and a missing repository.
    @Test(arguments: RegistryKind.allCases) func pullFromARealRegistry(_ kind: RegistryKind) async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: kind)
            defer { registry.stop() }
            let (layout, digest) = try Self.makeLayout(d, tag: "v1")
            try registry.push(layout: layout, tag: "v1", as: "test/busybox")
            let name = "\(registry.host)/test/busybox:v1"

            var r = try CLITests.berth(d, ["pull", name])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("v1: Pulling from test/busybox"))
            #expect(r.stdout.components(separatedBy: "Pull complete").count == 3, "two layers: \(r.stdout)")
            #expect(r.stdout.contains("Digest: \(digest)"))
            #expect(r.stdout.contains("Status: Downloaded newer image for \(name)"))
            r = try CLITests.berth(d, ["run", "--rm", name, "sh", "-c", "cat /hello; busybox | head -1"])
            #expect(r.stdout.hasPrefix("hello from layer two\nBusyBox"), "\(r.stdout) \(r.stderr)")
            let inspect = try d.client.checked("GET", "/images/\(name)/json").json
            #expect(inspect?["RepoDigests"]?.stringArray == ["\(registry.host)/test/busybox@\(digest)"])
            #expect(inspect?["RootFS"]?["Layers"]?.arrayValue?.count == 2)

            // Again: nothing to download.
            r = try CLITests.berth(d, ["pull", name])
            #expect(r.stdout.contains("Already exists") && r.stdout.contains("Status: Image is up to date for \(name)"))
            #expect(!r.stdout.contains("Downloading"))
            // By digest.
            r = try CLITests.berth(d, ["pull", "\(registry.host)/test/busybox@\(digest)"])
            #expect(r.status == 0 && r.stdout.contains("Digest: \(digest)"), "\(r.stdout) \(r.stderr)")

            // search reads the catalog.
            r = try CLITests.berth(d, ["search", "\(registry.host)/busy"])
            #expect(r.stdout.contains("\(registry.host)/test/busybox"), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["search", "\(registry.host)/nothing-like-it"])
            #expect(r.status == 0 && !r.stdout.contains("test/busybox"))
            r = try CLITests.berth(d, ["search", "busybox"])
            #expect(r.status != 0 && r.stderr.contains("search needs a registry"))

            // A missing tag, a missing repository: Docker's messages, nothing stored.
            let before = try d.client.checked("GET", "/images/json").json?.arrayValue?.count
            r = try CLITests.berth(d, ["pull", "\(registry.host)/test/busybox:nope"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("manifest for \(registry.host)/test/busybox:nope not found: manifest unknown"))
            r = try CLITests.berth(d, ["pull", "\(registry.host)/test/nosuch:v1"])
            #expect(r.status != 0 && r.stderr.contains("not found"), "\(r.stderr)")
            #expect(try d.client.checked("GET", "/images/json").json?.arrayValue?.count == before)
            // The API answers a missing tag with a 404 before any progress, as Docker does.
            let api = try d.client.call(
                "POST", "/images/create", query: [("fromImage", "\(registry.host)/test/busybox"), ("tag", "nope")])
            #expect(api.status == 404)
        }
    }

    /// A blob whose bytes do not match its digest is refused and nothing is stored; once the registry has the
    /// right bytes again, `run` pulls the image it does not have.
    @Test(arguments: RegistryKind.allCases) func aCorruptLayerIsRefused(_ kind: RegistryKind) async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: kind)
            defer { registry.stop() }
            let (layout, _) = try Self.makeLayout(d, tag: "v1")
            try registry.push(layout: layout, tag: "v1", as: "test/corrupt")
            let index = try JSONValue.parse(
                bytes: Array(try Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))))
            let manifestHex = String(index["manifests"]?.arrayValue?.first?["digest"]?.stringValue?.dropFirst(7) ?? "")
            let manifest = try JSONValue.parse(
                bytes: Array(try Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(manifestHex)"))))
            let layerHex = String(manifest["layers"]?.arrayValue?.last?["digest"]?.stringValue?.dropFirst(7) ?? "")
            let blob = registry.blobPath(layerHex)
            let good = try Data(contentsOf: URL(fileURLWithPath: blob))
            var bad = good
            bad[bad.count / 2] ^= 0xFF
            try bad.write(to: URL(fileURLWithPath: blob))

            let name = "\(registry.host)/test/corrupt:v1"
            var r = try CLITests.berth(d, ["pull", name])
            #expect(r.status != 0)
            #expect(r.stderr.contains("verification failed for digest sha256:\(layerHex)"), "\(r.stdout) \(r.stderr)")
            #expect(try d.client.call("GET", "/images/\(name)/json").status == 404)
            #expect(!FileManager.default.fileExists(atPath: d.root + "/lib/content/blobs/sha256/\(layerHex)"))

            // With the right bytes back, `run` pulls the missing image itself (`--pull missing`).
            try good.write(to: URL(fileURLWithPath: blob))
            r = try CLITests.berth(d, ["run", "--rm", name, "cat", "/hello"])
            #expect(r.status == 0 && r.stdout == "hello from layer two\n", "\(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("Unable to find image '\(name)' locally"))
            #expect(FileManager.default.fileExists(atPath: d.root + "/lib/content/blobs/sha256/\(layerHex)"))
        }
    }

    /// Push of an imported image and of a committed one on top of a pulled image (its base layers are found on
    /// the registry), then a pull of what was pushed; a 20 MB layer goes up in chunks.
    @Test(arguments: RegistryKind.allCases) func pushThenPullBack(_ kind: RegistryKind) async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: kind)
            defer { registry.stop() }
            let name = "\(registry.host)/team/box:v1"
            var r = try CLITests.berth(d, ["tag", "busybox", name])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["push", name])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("The push refers to repository [\(registry.host)/team/box]"))
            #expect(r.stdout.contains(": Pushed"))
            let digest = try #require(
                r.stdout.split(separator: "\n").first { $0.hasPrefix("v1: digest: sha256:") }?.split(separator: " ")[2])
            // The registry has it, under that digest.
            let check = try run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--raw", "docker://\(name)"])
            #expect(check.status == 0)
            #expect("sha256:" + SHA256.hash(Array(check.output.utf8)) == String(digest))
            // Pushed again: every blob is there already.
            r = try CLITests.berth(d, ["push", name])
            #expect(r.stdout.contains("Layer already exists") && !r.stdout.contains(": Pushed"), "\(r.stdout)")

            // A commit on top: one new layer; the base is already on the registry.
            r = try CLITests.berth(d, ["run", "--name", "c1", name, "sh", "-c", "echo committed > /marker"])
            #expect(r.status == 0)
            let second = "\(registry.host)/team/box:v2"
            r = try CLITests.berth(d, ["commit", "c1", second])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["push", second])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.components(separatedBy: ": Pushed").count == 2, "one new layer: \(r.stdout)")
            #expect(r.stdout.contains("Layer already exists"))

            // Gone locally, back from the registry.
            _ = try CLITests.berth(d, ["rm", "c1"])
            _ = try CLITests.berth(d, ["rmi", second])
            r = try CLITests.berth(d, ["run", "--rm", second, "cat", "/marker"])
            #expect(r.stdout == "committed\n", "\(r.stdout) \(r.stderr)")
            // A layer over the chunk size (16 MiB) goes up in chunks; it comes back the same.
            r = try CLITests.berth(
                d, ["run", "--name", "c3", name, "sh", "-c", "head -c 20000000 /dev/urandom > /big && md5sum /big"])
            let sum = r.stdout
            #expect(r.status == 0 && sum.hasSuffix("/big\n"), "\(r.stderr)")
            let big = "\(registry.host)/team/box:big"
            _ = try CLITests.berth(d, ["commit", "c3", big])
            _ = try CLITests.berth(d, ["rm", "c3"])
            r = try CLITests.berth(d, ["push", big])
            #expect(r.status == 0 && r.stdout.contains(": Pushed"), "\(r.stdout) \(r.stderr)")
            _ = try CLITests.berth(d, ["rmi", big])
            r = try CLITests.berth(d, ["run", "--rm", big, "md5sum", "/big"])
            #expect(r.stdout == sum, "\(r.stdout) \(r.stderr)")

            // A tag that is not there locally.
            r = try CLITests.berth(d, ["push", "\(registry.host)/team/box:nope"])
            #expect(r.status != 0 && r.stderr.contains("An image does not exist locally with the tag"))
        }
    }

    /// save and load: two images sharing a layer make one archive with the layer once; skopeo (a real peer)
    /// reads it; what skopeo writes loads; a layer that does not match its diff ID, a path leaving the archive
    /// and a truncated archive are refused with nothing stored.
    @Test func saveAndLoad() async throws {
        try await TestDaemon.with { d in
            var r = try CLITests.berth(d, ["run", "--name", "c2", "busybox", "sh", "-c", "echo two > /two"])
            #expect(r.status == 0)
            r = try CLITests.berth(d, ["commit", "c2", "derived:1"])
            #expect(r.status == 0)
            _ = try CLITests.berth(d, ["rm", "c2"])
            let archive = d.root + "/saved.tar"
            r = try CLITests.berth(d, ["save", "-o", archive, "busybox:latest", "derived:1"])
            #expect(r.status == 0, "\(r.stderr)")
            let names = try TarBuilder.list(archive).map(\.name)
            #expect(names.contains("manifest.json") && names.contains("index.json") && names.contains("oci-layout"))
            let base = try d.client.checked("GET", "/images/busybox:latest/json").json?["RootFS"]?["Layers"]?
                .stringArray?.first
            let baseHex = String(try #require(base).dropFirst(7))
            #expect(names.filter { $0 == "blobs/sha256/\(baseHex)" }.count == 1, "the shared layer is stored once")
            // skopeo reads it as a docker archive.
            let peer = try run("/usr/bin/skopeo", ["inspect", "docker-archive:\(archive):derived:1"])
            #expect(peer.status == 0, "\(peer.output)")

            // Back after removal.
            _ = try CLITests.berth(d, ["rmi", "derived:1"])
            r = try CLITests.berth(d, ["load", "-i", archive])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("Loaded image: derived:1") && r.stdout.contains("Loaded image: busybox:latest"))
            r = try CLITests.berth(d, ["run", "--rm", "derived:1", "cat", "/two"])
            #expect(r.stdout == "two\n")

            // An archive skopeo wrote from an OCI layout.
            let (layout, _) = try Self.makeLayout(d, tag: "v1")
            let fromPeer = d.root + "/peer.tar"
            let made = try run(
                "/usr/bin/skopeo", ["copy", "--quiet", "oci:\(layout):v1", "docker-archive:\(fromPeer):peer/img:v1"])
            #expect(made.status == 0, "\(made.output)")
            r = try CLITests.berth(d, ["load", "-i", fromPeer])
            #expect(r.status == 0 && r.stdout.contains("Loaded image: peer/img:v1"), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "peer/img:v1", "cat", "/hello"])
            #expect(r.stdout == "hello from layer two\n")

            // Bad archives: nothing stored.
            let before = try d.client.checked("GET", "/images/json").json?.arrayValue?.count
            let config =
                #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#
            let wrong = d.root + "/wrong.tar"
            try TarBuilder.write(
                [
                    .file("manifest.json", #"[{"Config":"c.json","RepoTags":["wrong:1"],"Layers":["l.tar"]}]"#),
                    .file("c.json", config), .file("l.tar", "not the layer"),
                ], to: wrong)
            r = try CLITests.berth(d, ["load", "-i", wrong])
            #expect(r.status != 0 && r.stderr.contains("invalid diffID for layer 0"), "\(r.stderr)")
            let escape = d.root + "/escape.tar"
            try TarBuilder.write([.file("../../escaped", "x"), .file("manifest.json", "[]")], to: escape)
            r = try CLITests.berth(d, ["load", "-i", escape])
            #expect(r.status != 0 && r.stderr.contains("unsafe path"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: d.root + "/escaped"))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            let truncated = d.root + "/truncated.tar"
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
            _ = try CLITests.berth(d, ["rmi", "derived:1"])
            r = try CLITests.berth(d, ["load", "-i", truncated])
            #expect(r.status != 0, "\(r.stdout)")
            #expect(try d.client.checked("GET", "/images/json").json?.arrayValue?.count == (before ?? 0) - 1)
        }
    }

    /// Basic authentication: refused without credentials and with wrong ones (nothing kept), `login` keeps them
    /// in `~/.berth/config.json` (0600) for push and pull, `logout` forgets them.
    @Test(arguments: RegistryKind.allCases) func loginPushPullLogout(_ kind: RegistryKind) async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: kind, user: ("alice", "s3cret"))
            defer { registry.stop() }
            let home = d.root + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let config = home + "/.berth/config.json"
            let name = "\(registry.host)/private/box:v1"
            _ = try CLITests.berth(d, ["tag", "busybox", name], home: home)
            var r = try CLITests.berth(d, ["push", name], home: home)
            #expect(r.status != 0 && r.stderr.contains("no basic auth credentials"), "\(r.stderr)")
            r = try CLITests.berth(d, ["login", "-u", "alice", "-p", "wrong", registry.host], home: home)
            #expect(r.status != 0 && r.stderr.contains("401 Unauthorized"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: config))
            r = try CLITests.berth(
                d, ["login", "-u", "alice", "--password-stdin", registry.host], stdin: "s3cret\n", home: home)
            #expect(r.status == 0 && r.stdout == "Login Succeeded\n", "\(r.stderr)")
            let attributes = try FileManager.default.attributesOfItem(atPath: config)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let saved = try JSONValue.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: config))))
            #expect(saved["auths"]?[registry.host]?["auth"]?.stringValue == Base64.encode(Array("alice:s3cret".utf8)))
            r = try CLITests.berth(d, ["push", name], home: home)
            #expect(r.status == 0, "\(r.stderr)")
            _ = try CLITests.berth(d, ["rmi", name], home: home)
            r = try CLITests.berth(d, ["pull", name], home: home)
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["logout", registry.host], home: home)
            #expect(r.stdout == "Removing login credentials for \(registry.host)\n")
            _ = try CLITests.berth(d, ["rmi", name], home: home)
            r = try CLITests.berth(d, ["pull", name], home: home)
            #expect(r.status != 0 && r.stderr.contains("no basic auth credentials"), "\(r.stderr)")
        }
    }

    /// Bearer tokens (the `WWW-Authenticate` challenge flow of Docker Hub and token services): `login` gets a
    /// token with the credentials, push asks for a push scope and pull for a pull scope, each on the challenge of
    /// the request that needs it; wrong credentials and no credentials are refused with clear messages.
    @Test func bearerTokenLoginPushPull() async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: .berth)
            defer { registry.stop() }
            let proxy = try ProxyFixture(in: registry, tokensFor: ("bob", "t0ken-pass"))
            defer { proxy.stop() }
            let host = "127.0.0.1:\(proxy.port)"
            let home = d.root + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let name = "\(host)/tokens/box:v1"
            _ = try CLITests.berth(d, ["tag", "busybox", name], home: home)
            var r = try CLITests.berth(d, ["push", name], home: home)
            #expect(r.status != 0 && r.stderr.contains("unauthorized"), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["login", "-u", "bob", "-p", "wrong", host], home: home)
            #expect(r.status != 0 && r.stderr.contains("incorrect username or password"), "\(r.stderr)")
            r = try CLITests.berth(
                d, ["login", "-u", "bob", "--password-stdin", host], stdin: "t0ken-pass\n", home: home)
            #expect(r.status == 0 && r.stdout == "Login Succeeded\n", "\(r.stderr)")
            r = try CLITests.berth(d, ["push", name], home: home)
            #expect(r.status == 0 && r.stdout.contains("v1: digest: sha256:"), "\(r.stdout) \(r.stderr)")
            _ = try CLITests.berth(d, ["rmi", name], home: home)
            r = try CLITests.berth(d, ["run", "--rm", name, "echo", "through tokens"], home: home)
            #expect(r.stdout == "through tokens\n", "\(r.stdout) \(r.stderr)")
            _ = try CLITests.berth(d, ["logout", host], home: home)
            _ = try CLITests.berth(d, ["rmi", name], home: home)
            r = try CLITests.berth(d, ["pull", name], home: home)
            #expect(r.status != 0 && r.stderr.contains("unauthorized"), "\(r.stderr)")
        }
    }

    /// Debian's real dockerd and Berth meet through berth-registry and through archives: an image dockerd pushes
    /// is pulled and run by Berth; an image Berth pushes is pulled by dockerd; `docker save`'s archive loads
    /// into Berth and runs, and Berth's `save` loads into dockerd.
    @Test func realDockerdMeetsBerthThroughTheRegistryAndArchives() async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root, kind: .berth)
            defer { registry.stop() }
            let docker = try RealDocker(in: d.root)
            defer { docker.stop() }
            let fromDocker = "\(registry.host)/dk/box:v1"
            var x = try docker.docker(["import", "-c", "CMD [\"sh\"]", try d.makeBusyboxTar(), fromDocker])
            #expect(x.status == 0, "\(x.output)")
            x = try docker.docker(["push", fromDocker])
            #expect(x.status == 0 && x.output.contains("digest: sha256:"), "\(x.output)")
            var r = try CLITests.berth(d, ["run", "--rm", fromDocker, "echo", "pushed by dockerd"])
            #expect(r.stdout == "pushed by dockerd\n", "\(r.stdout) \(r.stderr)")

            // Berth pushes a committed image (two layers); dockerd pulls it and sees both.
            r = try CLITests.berth(d, ["run", "--name", "mk", "busybox", "sh", "-c", "echo from berth > /made"])
            #expect(r.status == 0)
            let fromBerth = "\(registry.host)/bt/made:v1"
            _ = try CLITests.berth(d, ["commit", "mk", fromBerth])
            r = try CLITests.berth(d, ["push", fromBerth])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            x = try docker.docker(["pull", fromBerth])
            #expect(x.status == 0, "\(x.output)")
            x = try docker.docker([
                "image", "inspect", "--format", "{{len .RootFS.Layers}} {{json .Config.Cmd}}", fromBerth,
            ])
            // The commit keeps the container's command, as Docker's does.
            #expect(x.output == "2 [\"sh\",\"-c\",\"echo from berth > /made\"]\n", "\(x.output)")

            // docker save -> berth load (the image that came from Berth, now in Docker's own archive format).
            let dockerArchive = d.root + "/docker-saved.tar"
            x = try docker.docker(["save", "-o", dockerArchive, fromBerth, fromDocker])
            #expect(x.status == 0, "\(x.output)")
            _ = try CLITests.berth(d, ["rmi", fromBerth, fromDocker])
            r = try CLITests.berth(d, ["load", "-i", dockerArchive])
            #expect(r.status == 0 && r.stdout.contains("Loaded image: \(fromBerth)"), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("Loaded image: \(fromDocker)"))
            r = try CLITests.berth(d, ["run", "--rm", fromBerth, "cat", "/made"])
            #expect(r.stdout == "from berth\n", "\(r.stdout) \(r.stderr)")

            // berth save -> docker load.
            let berthArchive = d.root + "/berth-saved.tar"
            r = try CLITests.berth(d, ["save", "-o", berthArchive, fromBerth])
            #expect(r.status == 0)
            _ = try docker.docker(["rmi", fromBerth])
            x = try docker.docker(["load", "-i", berthArchive])
            #expect(x.status == 0 && x.output.contains("Loaded image: \(fromBerth)"), "\(x.output)")
            x = try docker.docker(["image", "inspect", "--format", "{{len .RootFS.Layers}}", fromBerth])
            #expect(x.output == "2\n", "\(x.output)")
        }
    }

    /// A connection cut in the middle of a layer: the download resumes with a range request and the image is
    /// whole. Two pulls of the same image at once both succeed.
    @Test func aCutDownloadResumesAndConcurrentPullsShare() async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root)
            defer { registry.stop() }
            let (layout, _) = try Self.makeLayout(d, tag: "v1")
            try registry.push(layout: layout, tag: "v1", as: "test/cut")
            let proxy = try ProxyFixture(in: registry, slow: false)
            defer { proxy.stop() }
            let port = proxy.port
            let name = "127.0.0.1:\(port)/test/cut:v1"
            var r = try CLITests.berth(d, ["pull", name])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("Retrying"), "the proxy cut a download: \(r.stdout)")
            r = try CLITests.berth(d, ["run", "--rm", name, "sh", "-c", "cat /hello && ls /bin/busybox"])
            #expect(r.stdout == "hello from layer two\n/bin/busybox\n", "\(r.stdout) \(r.stderr)")

            // Two pulls at once of an image neither has.
            let other = "\(registry.host)/test/cut:v1"
            _ = try CLITests.berth(d, ["rmi", name])
            let results = try await withThrowingTaskGroup(of: CLITests.Result.self) { group in
                for _ in 0..<2 { group.addTask { try CLITests.berth(d, ["pull", other]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map { $0.stdout + $0.stderr })")
            r = try CLITests.berth(d, ["run", "--rm", other, "cat", "/hello"])
            #expect(r.stdout == "hello from layer two\n")
        }
    }

    /// The daemon killed in the middle of a pull: after a restart the store holds no half image, and the pull
    /// can be repeated (it resumes the blob that was being downloaded).
    @Test func theDaemonKilledMidPullLeavesAConsistentStore() async throws {
        try await TestDaemon.with { d in
            let registry = try LocalRegistry(in: d.root)
            defer { registry.stop() }
            // Three 6 MB layers of random bytes, sent at about 1 MB/s by the proxy.
            var tars: [String] = []
            for i in 0..<3 {
                let dir = d.root + "/big\(i)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
                try random.readData(ofLength: 6 << 20).write(to: URL(fileURLWithPath: dir + "/data"))
                try random.close()
                let tar = d.root + "/big\(i).tar"
                _ = try run("/usr/bin/tar", ["-C", dir, "-cf", tar, "data"])
                tars.append(tar)
            }
            let layout = d.root + "/oci-big"
            let made = try run(TestDaemon.repoRoot + "/contrib/mkimage-oci.py", [layout, "v1"] + tars)
            try #require(made.status == 0, "\(made.output)")
            try registry.push(layout: layout, tag: "v1", as: "test/big")
            let proxy = try ProxyFixture(in: registry, slow: true)
            defer { proxy.stop() }
            let port = proxy.port
            let pull = Process()
            pull.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
            pull.arguments = ["-H", "unix://\(d.socketPath)", "pull", "127.0.0.1:\(port)/test/big:v1"]
            pull.standardOutput = FileHandle.nullDevice
            pull.standardError = FileHandle.nullDevice
            try pull.run()
            // Killed once a blob is partly downloaded.
            let tmp = d.root + "/lib/content/tmp"
            var partial = false
            for _ in 0..<200 where !partial {
                usleep(50_000)
                let files = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
                partial = files.contains { name in
                    name.hasSuffix(".partial")
                        && ((try? FileManager.default.attributesOfItem(atPath: tmp + "/" + name)[.size] as? Int) ?? 0)
                            > 0
                }
            }
            #expect(partial, "a download was under way")
            d.crash()
            pull.waitUntilExit()
            #expect(pull.terminationStatus != 0)
            try d.start()
            let name = "\(registry.host)/test/big:v1"
            #expect(try d.client.call("GET", "/images/127.0.0.1:\(port)/test/big:v1/json").status == 404)
            var r = try CLITests.berth(d, ["pull", name])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            // Whole: three layers (no shell in this image to look inside; its layers were checked against their
            // diff IDs when unpacked).
            let image = try d.client.checked("GET", "/images/\(name)/json").json
            #expect(image?["RootFS"]?["Layers"]?.arrayValue?.count == 3)
            #expect((image?["Size"]?.intValue ?? 0) >= 3 * (6 << 20))
            let left = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
            #expect(!left.contains { $0.hasSuffix(".partial") }, "\(left)")
        }
    }

    /// A registry on HTTPS with a certificate of a private CA: refused until the CA is in `certs.d/HOST:PORT/`
    /// (config.lua's `registry.certs_dir`), pulled over HTTPS after.
    @Test(arguments: RegistryKind.allCases) func aTLSRegistryIsTrustedThroughCertsD(_ kind: RegistryKind) async throws {
        try await TestDaemon.with { d in
            let pki = try TestPKI(in: d.root + "/pki")
            let registry = try LocalRegistry(in: d.root, kind: kind, tls: (pki.serverCert, pki.serverKey))
            defer { registry.stop() }
            let (layout, _) = try Self.makeLayout(d, tag: "v1")
            try registry.push(layout: layout, tag: "v1", as: "test/tls")
            let certs = d.root + "/certs.d"
            try d.writeConfig("registry = { certs_dir = \"\(certs)\" },")
            d.stop()
            try d.start()
            let name = "\(registry.host)/test/tls:v1"
            var r = try CLITests.berth(d, ["pull", name])
            #expect(r.status != 0, "not trusted yet: \(r.stdout)")
            try FileManager.default.createDirectory(
                atPath: certs + "/" + registry.host, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: pki.caCert, toPath: certs + "/\(registry.host)/ca.crt")
            r = try CLITests.berth(d, ["pull", name])
            #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", name, "cat", "/hello"])
            #expect(r.stdout == "hello from layer two\n")
        }
    }

    /// `berth registry serve` runs Berth's registry; `berth registry gc` is refused while it serves, and once it
    /// has stopped removes what a deleted manifest left, after which the image is gone and the others are whole.
    @Test func theRegistryCommandServesAndCollects() async throws {
        try await TestDaemon.with { d in
            let root = d.root + "/own-registry"
            let port = try LocalRegistry.freePort()
            func serve() throws -> Process {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
                p.arguments = ["registry", "serve", "--addr", "127.0.0.1:\(port)", "--root", root]
                p.standardError = FileHandle(forWritingAtPath: "/dev/null")
                try p.run()
                for _ in 0..<100 {
                    if (try? LocalRegistry.get("http://127.0.0.1:\(port)/v2/")) != nil { break }
                    usleep(50_000)
                }
                return p
            }
            var server = try serve()
            let host = "127.0.0.1:\(port)"
            for tag in ["keep", "drop"] {
                _ = try CLITests.berth(d, ["tag", "busybox", "\(host)/cli/\(tag):v1"])
            }
            // Two repositories; "drop" gets a layer of its own on top.
            var r = try CLITests.berth(d, ["run", "--name", "mine", "busybox", "sh", "-c", "echo mine > /mine"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["commit", "mine", "\(host)/cli/drop:v1"])
            #expect(r.status == 0, "\(r.stderr)")
            for tag in ["keep", "drop"] {
                r = try CLITests.berth(d, ["push", "\(host)/cli/\(tag):v1"])
                #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
            }
            let digest = try #require(
                r.stdout.split(separator: "\n").first { $0.hasPrefix("v1: digest: ") }?.split(separator: " ")[2])
            r = try CLITests.berth(d, ["registry", "gc", "--root", root])
            #expect(r.status != 0 && r.stderr.contains("is in use"), "\(r.stderr)")
            let deleted = try run(
                "/usr/bin/curl",
                [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                    "http://\(host)/v2/cli/drop/manifests/\(digest)",
                ])
            #expect(deleted.output == "202")
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()

            r = try CLITests.berth(d, ["registry", "gc", "--root", root])
            #expect(r.status == 0, "\(r.stderr)")
            // The manifest, its config and the committed layer; the base layer is kept (cli/keep uses it).
            #expect(r.stdout.contains("deleted blob \(digest)"))
            #expect(
                r.stdout.hasSuffix(
                    "3 blobs (\(r.stdout.split(separator: "(")[1].split(separator: " ")[0]) bytes) and 0 manifests deleted\n"
                ), "\(r.stdout)")

            server = try serve()
            defer {
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            for tag in ["keep", "drop"] { _ = try CLITests.berth(d, ["rmi", "\(host)/cli/\(tag):v1"]) }
            r = try CLITests.berth(d, ["pull", "\(host)/cli/drop:v1"])
            #expect(r.status != 0 && r.stderr.contains("manifest unknown"), "\(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "\(host)/cli/keep:v1", "echo", "whole"])
            #expect(r.stdout == "whole\n", "\(r.stdout) \(r.stderr)")
        }
    }
}
