import BerthCore
import BerthRegistry
import BerthTestSupport
import Foundation
import Testing

/// Authentication, TLS, garbage collection, the configuration file and the root lock.
@Suite(.serialized)
struct RegistryAdministrationTests {
    /// An htpasswd line with a bcrypt hash (as `htpasswd -B` writes), made by Python's crypt module.
    static func htpasswd(_ user: String, _ password: String) throws -> String {
        let r = try run(
            "/usr/bin/python3",
            [
                "-W", "ignore", "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", password,
            ])
        try #require(r.status == 0, "\(r.output)")
        return "\(user):\(r.output.trimmingSpaces)\n"
    }

    @Test func basicAuthentication() async throws {
        try await withTemporaryDirectory { dir in
            try Self.htpasswd("alice", "s3cret").write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            let r = try await RegistryFixture(root: dir) {
                $0.htpasswd = dir + "/htpasswd"
                $0.realm = "test realm"
            }
            var v = try r.request("GET", "/v2/")
            #expect(v.status == 401 && v.errorCode == "UNAUTHORIZED")
            #expect(v.header("WWW-Authenticate") == "Basic realm=\"test realm\"")
            v = try r.request("GET", "/v2/", user: ("alice", "wrong"))
            #expect(v.status == 401)
            v = try r.request("GET", "/v2/", user: ("bob", "s3cret"))
            #expect(v.status == 401)
            v = try r.request("GET", "/v2/", user: ("alice", "s3cret"))
            #expect(v.status == 200)
            // Every route is behind it, uploads too.
            #expect(try r.request("POST", "/v2/x/blobs/uploads/").status == 401)
            #expect(try r.request("POST", "/v2/x/blobs/uploads/", user: ("alice", "s3cret")).status == 202)
            #expect(try r.request("GET", "/v2/_catalog").status == 401)
            // The health check is open.
            #expect(try r.request("GET", "/").status == 200)
            await r.shutdown()
        }
        // A file with a hash libxcrypt cannot check is refused at start, with its line.
        try withTemporaryDirectory { dir in
            try "alice:{SHA}abc\n".write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
            #expect {
                _ = try RegistryAuth(htpasswd: dir + "/htpasswd", realm: "r")
            } throws: { ($0 as? BerthError)?.message.contains("line 1: unsupported hash") == true }
        }
    }

    /// HTTPS with a certificate of a private CA: refused by a client that does not trust it, a blob larger than
    /// the 1 MiB read size comes back whole to one that does; with a client CA, only clients with a certificate
    /// it signed get in.
    @Test func tlsAndClientCertificates() async throws {
        try await withTemporaryDirectory { dir in
            let pki = dir + "/pki"
            try FileManager.default.createDirectory(atPath: pki, withIntermediateDirectories: true)
            func openssl(_ args: [String]) throws {
                let r = try run("/usr/bin/openssl", args)
                try #require(r.status == 0, "\(r.output)")
            }
            try openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(pki)/ca.key", "-out", "\(pki)/ca.crt",
                "-days", "1", "-subj", "/CN=berth-test-ca",
            ])
            try "subjectAltName=IP:127.0.0.1\n".write(toFile: pki + "/ext", atomically: true, encoding: .utf8)
            for name in ["server", "client"] {
                try openssl([
                    "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(pki)/\(name).key", "-out",
                    "\(pki)/\(name).csr", "-subj", "/CN=127.0.0.1",
                ])
                try openssl([
                    "x509", "-req", "-in", "\(pki)/\(name).csr", "-CA", "\(pki)/ca.crt", "-CAkey", "\(pki)/ca.key",
                    "-CAcreateserial", "-out", "\(pki)/\(name).crt", "-days", "1", "-extfile", "\(pki)/ext",
                ])
            }
            let r = try await RegistryFixture(root: dir) {
                $0.tls = .init(certificate: "\(pki)/server.crt", key: "\(pki)/server.key")
            }
            #expect(throws: (any Error).self) { try r.request("GET", "/v2/") }
            let trust = ["--cacert", "\(pki)/ca.crt"]
            #expect(try r.request("GET", "/v2/", extra: trust).status == 200)
            let big = (0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            let start = try r.request("POST", "/v2/tls/blobs/uploads/", extra: trust)
            #expect(start.header("Location")?.hasPrefix("https://127.0.0.1:") == true)
            let digest = "sha256:" + SHA256.hash(big)
            let path = String(try #require(start.header("Location")).dropFirst(r.base.count))
            #expect(try r.request("PUT", path + "?digest=\(digest)", body: big, extra: trust).status == 201)
            #expect(try r.request("GET", "/v2/tls/blobs/\(digest)", extra: trust).body == big)
            let ranged = try r.request(
                "GET", "/v2/tls/blobs/\(digest)", headers: ["Range": "bytes=1048570-2097160"], extra: trust)
            #expect(ranged.status == 206 && ranged.body == Array(big[1_048_570...2_097_160]))
            await r.shutdown()

            let mutual = try await RegistryFixture(root: dir) {
                $0.tls = .init(certificate: "\(pki)/server.crt", key: "\(pki)/server.key", clientCA: "\(pki)/ca.crt")
            }
            #expect(throws: (any Error).self) { try mutual.request("GET", "/v2/", extra: trust) }
            let withCert = trust + ["--cert", "\(pki)/client.crt", "--key", "\(pki)/client.key"]
            #expect(try mutual.request("GET", "/v2/", extra: withCert).status == 200)
            await mutual.shutdown()
        }
    }

    /// Mark and sweep: blobs of a deleted manifest go, blobs still referenced (by another image, or an index)
    /// stay; `deleteUntagged` also removes manifests no tag reaches; a dry run changes nothing; the images that
    /// are left are whole.
    @Test func garbageCollection() async throws {
        try await withTemporaryDirectory { dir in
            let r = try await RegistryFixture(root: dir)
            let shared = Array("shared base layer".utf8)
            let onlyA = Array("layer only in a".utf8)
            let (aDigest, _) = try r.pushImage(
                "gc/a", reference: "v1", layers: [shared, onlyA], config: Array(#"{"a":1}"#.utf8))
            let (bDigest, bManifest) = try r.pushImage(
                "gc/b", reference: "v1", layers: [shared], config: Array(#"{"b":1}"#.utf8))
            // An index in gc/b naming its image; then b's tag moves to the index.
            let index = Array(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(bDigest)",\
                "size":\(bManifest.count),"platform":{"architecture":"amd64","os":"linux"}}]}
                """.utf8)
            let v = try r.request(
                "PUT", "/v2/gc/b/manifests/v1", headers: ["Content-Type": "application/vnd.oci.image.index.v1+json"],
                body: index)
            #expect(v.status == 201, "\(v.text)")
            // An untagged manifest in gc/c.
            let (cDigest, _) = try r.pushImage(
                "gc/c", reference: "tmp", layers: [Array("c layer".utf8)], config: Array(#"{"c":1}"#.utf8))
            #expect(try r.request("DELETE", "/v2/gc/c/manifests/tmp").status == 202)
            #expect(try r.request("DELETE", "/v2/gc/a/manifests/\(aDigest)").status == 202)

            // The root is locked while the registry serves.
            #expect {
                _ = try RegistryCollector.collect(root: r.configuration.root, deleteUntagged: false, dryRun: true)
            } throws: { ($0 as? BerthError)?.message.contains("is in use") == true }
            await r.stop()

            let before = r.storedBlobs()
            let dry = try RegistryCollector.collect(root: r.configuration.root, deleteUntagged: false, dryRun: true)
            #expect(r.storedBlobs() == before)
            let hex = { (bytes: [UInt8]) in "sha256:" + SHA256.hash(bytes) }
            // a's manifest, config and own layer; the shared layer stays (b uses it); c is kept (no --delete-untagged).
            #expect(Set(dry.blobs) == [aDigest, hex(Array(#"{"a":1}"#.utf8)), hex(onlyA)])
            let done = try RegistryCollector.collect(root: r.configuration.root, deleteUntagged: false, dryRun: false)
            #expect(done.blobs == dry.blobs && done.bytes > 0)
            #expect(r.storedBlobs() == before.subtracting(dry.blobs.map { String($0.dropFirst(7)) }))

            let untagged = try RegistryCollector.collect(
                root: r.configuration.root, deleteUntagged: true, dryRun: false)
            #expect(untagged.manifests == ["gc/c@\(cDigest)"])
            #expect(Set(untagged.blobs) == [cDigest, hex(Array(#"{"c":1}"#.utf8)), hex(Array("c layer".utf8))])

            try await r.start()
            // b is whole: the index, the image it names (untagged but reached through the index), its blobs.
            #expect(try r.request("GET", "/v2/gc/b/manifests/v1").body == index)
            #expect(try r.request("GET", "/v2/gc/b/manifests/\(bDigest)").status == 200)
            #expect(try r.request("GET", "/v2/gc/b/blobs/\(hex(shared))").body == shared)
            // a's own layer is gone, also from a's links.
            #expect(try r.request("HEAD", "/v2/gc/a/blobs/\(hex(onlyA))").status == 404)
            await r.shutdown()
        }
    }

    @Test func configurationFile() throws {
        try withTemporaryDirectory { dir in
            let file = dir + "/registry.lua"
            try """
            local port = 5000 + 1
            return {
              addr = "0.0.0.0:" .. port, root = "/srv/registry", delete = false,
              auth = { htpasswd = "/etc/berth/htpasswd", realm = "Mine" },
              tls = { certificate = "/c.pem", key = "/k.pem" },
            }
            """.write(toFile: file, atomically: true, encoding: .utf8)
            let c = try RegistryConfiguration.load(path: file)
            #expect(c.host == "0.0.0.0" && c.port == 5001 && c.root == "/srv/registry" && !c.allowDelete)
            #expect(c.htpasswd == "/etc/berth/htpasswd" && c.realm == "Mine")
            #expect(c.tls == .init(certificate: "/c.pem", key: "/k.pem"))

            try "return { adr = \":5000\" }".write(toFile: file, atomically: true, encoding: .utf8)
            #expect {
                _ = try RegistryConfiguration.load(path: file)
            } throws: { ($0 as? BerthError)?.message.contains("unknown key adr (did you mean addr?)") == true }
            try "return { addr = \"nowhere\" }".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(throws: BerthError.self) { _ = try RegistryConfiguration.load(path: file) }
            try "return 42".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(throws: BerthError.self) { _ = try RegistryConfiguration.load(path: file) }
        }
    }
}
