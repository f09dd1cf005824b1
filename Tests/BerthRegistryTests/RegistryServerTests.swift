import BerthCore
import BerthRegistry
import BerthTestSupport
import Foundation
import Testing

/// The distribution API of `RegistryServer` seen through curl: uploads, manifests, listings, deletes, bad
/// input, restarts, authentication and TLS. Skopeo, docker-registry's clients and Berth's own client talk to
/// it in the integration tests.
@Suite(.serialized)
struct RegistryServerTests {
    static func withRegistry(
        configure: @escaping (inout RegistryConfiguration) -> Void = { _ in },
        _ body: (RegistryFixture) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { dir in
            let registry = try await RegistryFixture(root: dir, configure: configure)
            do {
                try await body(registry)
            } catch {
                await registry.shutdown()
                throw error
            }
            await registry.shutdown()
        }
    }

    @Test func namesFollowTheSpecGrammar() {
        for good in ["a", "library/busybox", "my-org/app_1", "a.b/c__d/e---f", "0/1"] {
            #expect(RegistryNames.isValidRepository(good), "\(good)")
        }
        for bad in ["", "UPPER", "a//b", "/a", "a/", "-a", "a-", "a..b", "a___b", "../etc", "a/_layers", "a/.."] {
            #expect(!RegistryNames.isValidRepository(bad), "\(bad)")
        }
        #expect(RegistryNames.isValidTag("v1.0-rc_2") && RegistryNames.isValidTag("_x"))
        #expect(!RegistryNames.isValidTag(".x") && !RegistryNames.isValidTag("a/b") && !RegistryNames.isValidTag(""))
        #expect(!RegistryNames.isValidTag(String(repeating: "a", count: 129)))
        #expect(RegistryNames.sha256Hex("sha256:" + String(repeating: "ab", count: 32)) != nil)
        #expect(RegistryNames.sha256Hex("sha256:" + String(repeating: "AB", count: 32)) == nil)
        #expect(RegistryNames.sha256Hex("sha512:" + String(repeating: "ab", count: 32)) == nil)
        #expect(RegistryNames.sha256Hex("sha256:../../etc") == nil)
    }

    /// A blob in three chunks (PATCH with Content-Range, then PUT), a monolithic one, then a manifest; both read
    /// back by tag and digest, whole and by range, and listed.
    @Test func chunkedUploadManifestAndReads() async throws {
        try await Self.withRegistry { r in
            var v = try r.request("GET", "/v2/")
            #expect(v.status == 200 && v.header("Docker-Distribution-Api-Version") == "registry/2.0")

            let layer = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let digest = "sha256:" + SHA256.hash(layer)
            v = try r.request("POST", "/v2/team/app/blobs/uploads/")
            #expect(v.status == 202 && v.header("Range") == "0-0" && v.header("Docker-Upload-UUID") != nil)
            let location = String(try #require(v.header("Location")).dropFirst(r.base.count))
            #expect(location.hasPrefix("/v2/team/app/blobs/uploads/"))
            v = try r.request(
                "PATCH", location, headers: ["Content-Range": "0-99999"], body: Array(layer[0..<100_000]))
            #expect(v.status == 202 && v.header("Range") == "0-99999", "\(v.status) \(v.text)")
            // A chunk that does not start where the upload ends.
            v = try r.request(
                "PATCH", location, headers: ["Content-Range": "50000-149999"], body: Array(layer[50_000..<150_000]))
            #expect(v.status == 416)
            v = try r.request("PATCH", location, body: Array(layer[100_000..<200_000]))
            #expect(v.status == 202 && v.header("Range") == "0-199999")
            v = try r.request("GET", location)
            #expect(v.status == 204 && v.header("Range") == "0-199999")
            v = try r.request("PUT", location + "?digest=\(digest)", body: Array(layer[200_000...]))
            #expect(v.status == 201 && v.header("Docker-Content-Digest") == digest, "\(v.text)")
            #expect(v.header("Location") == "\(r.base)/v2/team/app/blobs/\(digest)")
            // The upload is gone once finished.
            #expect(try r.request("GET", location).status == 404)

            v = try r.request("HEAD", "/v2/team/app/blobs/\(digest)")
            #expect(v.status == 200 && v.header("Content-Length") == "300000")
            v = try r.request("GET", "/v2/team/app/blobs/\(digest)")
            #expect(v.body == layer)
            v = try r.request("GET", "/v2/team/app/blobs/\(digest)", headers: ["Range": "bytes=299990-"])
            #expect(v.status == 206 && v.body == Array(layer[299_990...]))
            #expect(v.header("Content-Range") == "bytes 299990-299999/300000")
            v = try r.request("GET", "/v2/team/app/blobs/\(digest)", headers: ["Range": "bytes=400000-"])
            #expect(v.status == 416)
            // Another repository does not see it.
            #expect(try r.request("HEAD", "/v2/team/other/blobs/\(digest)").status == 404)

            // Monolithic: POST with the digest and the body.
            let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
            let configDigest = "sha256:" + SHA256.hash(config)
            v = try r.request("POST", "/v2/team/app/blobs/uploads/?digest=\(configDigest)", body: config)
            #expect(v.status == 201 && v.header("Docker-Content-Digest") == configDigest)

            let manifest = Array(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
                "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(configDigest)",\
                "size":\(config.count)},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar",\
                "digest":"\(digest)","size":300000}]}
                """.utf8)
            let manifestDigest = "sha256:" + SHA256.hash(manifest)
            v = try r.request(
                "PUT", "/v2/team/app/manifests/v1",
                headers: ["Content-Type": "application/vnd.docker.distribution.manifest.v2+json"], body: manifest)
            #expect(v.status == 201 && v.header("Docker-Content-Digest") == manifestDigest, "\(v.text)")
            for reference in ["v1", manifestDigest] {
                v = try r.request("GET", "/v2/team/app/manifests/\(reference)")
                #expect(v.status == 200 && v.body == manifest)
                #expect(v.header("Content-Type") == "application/vnd.docker.distribution.manifest.v2+json")
                #expect(v.header("Docker-Content-Digest") == manifestDigest)
            }
            v = try r.request("HEAD", "/v2/team/app/manifests/v1")
            #expect(v.status == 200 && v.header("Content-Length") == String(manifest.count))
            v = try r.request("GET", "/v2/team/app/tags/list")
            #expect(v.json == .object([("name", .string("team/app")), ("tags", .strings(["v1"]))]))
            v = try r.request("GET", "/v2/_catalog")
            #expect(v.json?["repositories"]?.stringArray == ["team/app"])
        }
    }

    /// Wrong digests, unknown blobs, bad names and documents: each refused with the spec's error code, and
    /// nothing is stored.
    @Test func badInputIsRefusedAndNothingStored() async throws {
        try await Self.withRegistry { r in
            let content = Array("some content".utf8)
            let wrong = "sha256:" + String(repeating: "0", count: 64)
            var v = try r.request("POST", "/v2/x/blobs/uploads/?digest=\(wrong)", body: content)
            #expect(v.status == 400 && v.errorCode == "DIGEST_INVALID", "\(v.text)")
            #expect(r.storedBlobs().isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: r.configuration.root + "/uploads").isEmpty)
            v = try r.request("POST", "/v2/x/blobs/uploads/?digest=md5:abc", body: content)
            #expect(v.status == 400 && v.errorCode == "DIGEST_INVALID")

            v = try r.request("GET", "/v2/Upper/tags/list")
            #expect(v.status == 400 && v.errorCode == "NAME_INVALID")
            v = try r.request("GET", "/v2/a/../../etc/tags/list", extra: ["--path-as-is"])
            #expect(v.status == 400 && v.errorCode == "NAME_INVALID")
            v = try r.request("GET", "/v2/nothing/tags/list")
            #expect(v.status == 404 && v.errorCode == "NAME_UNKNOWN")
            v = try r.request("GET", "/v2/x/manifests/latest")
            #expect(v.status == 404 && v.errorCode == "MANIFEST_UNKNOWN")
            v = try r.request("GET", "/v2/x/blobs/\(wrong)")
            #expect(v.status == 404 && v.errorCode == "BLOB_UNKNOWN")
            v = try r.request("PATCH", "/v2/x/blobs/uploads/0123456789abcdef0123456789abcdef", body: content)
            #expect(v.status == 404 && v.errorCode == "BLOB_UPLOAD_UNKNOWN")
            v = try r.request("PATCH", "/v2/x/blobs/uploads/..%2F..%2Fetc", body: content)
            #expect(v.status == 404 && v.errorCode == "BLOB_UPLOAD_UNKNOWN")

            // Manifests: not JSON, schema 1, a layer the repository lacks, a digest that is not the content's.
            let ct = ["Content-Type": "application/vnd.oci.image.manifest.v1+json"]
            v = try r.request("PUT", "/v2/x/manifests/v1", headers: ct, body: Array("{not json".utf8))
            #expect(v.status == 400 && v.errorCode == "MANIFEST_INVALID")
            v = try r.request("PUT", "/v2/x/manifests/v1", headers: ct, body: Array(#"{"schemaVersion":1}"#.utf8))
            #expect(v.status == 400 && v.errorCode == "MANIFEST_INVALID")
            let configDigest = try r.pushBlob("x", Array("{}".utf8))
            let missing = Array(
                """
                {"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",\
                "digest":"\(configDigest)","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar",\
                "digest":"\(wrong)","size":1}]}
                """.utf8)
            v = try r.request("PUT", "/v2/x/manifests/v1", headers: ct, body: missing)
            #expect(v.status == 400 && v.errorCode == "MANIFEST_BLOB_UNKNOWN", "\(v.text)")
            let good = Array(
                """
                {"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",\
                "digest":"\(configDigest)","size":2},"layers":[]}
                """.utf8)
            v = try r.request("PUT", "/v2/x/manifests/\(wrong)", headers: ct, body: good)
            #expect(v.status == 400 && v.errorCode == "DIGEST_INVALID")
            v = try r.request("PUT", "/v2/x/manifests/bad..tag/x", headers: ct, body: good)
            #expect(v.status >= 400)
            #expect(try r.request("GET", "/v2/x/tags/list").status == 404, "no manifest was stored")
            #expect(r.storedBlobs() == [String(configDigest.dropFirst(7))])
            // A manifest over 4 MiB.
            v = try r.request("PUT", "/v2/x/manifests/big", headers: ct, body: [UInt8](repeating: 0x20, count: 5 << 20))
            #expect(v.status == 413)
            // An index naming a manifest the repository does not have.
            let index = Array(
                """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(wrong)","size":10}]}
                """.utf8)
            v = try r.request(
                "PUT", "/v2/x/manifests/idx", headers: ["Content-Type": "application/vnd.oci.image.index.v1+json"],
                body: index)
            #expect(v.status == 400 && v.errorCode == "MANIFEST_BLOB_UNKNOWN")
            // The server is still answering.
            #expect(try r.request("GET", "/v2/").status == 200)
        }
    }

    /// `mount=&from=` links a blob of one repository into another without an upload; from a repository that
    /// lacks it, an ordinary upload starts instead.
    @Test func crossRepositoryMount() async throws {
        try await Self.withRegistry { r in
            let digest = try r.pushBlob("a/one", Array("shared layer".utf8))
            var v = try r.request("POST", "/v2/b/two/blobs/uploads/?mount=\(digest)&from=a/one")
            #expect(v.status == 201 && v.header("Location") == "\(r.base)/v2/b/two/blobs/\(digest)")
            #expect(try r.request("GET", "/v2/b/two/blobs/\(digest)").text == "shared layer")
            v = try r.request("POST", "/v2/c/three/blobs/uploads/?mount=\(digest)&from=nowhere")
            #expect(v.status == 202 && v.header("Docker-Upload-UUID") != nil)
            #expect(try r.request("HEAD", "/v2/c/three/blobs/\(digest)").status == 404)
        }
    }

    /// An upload survives a restart of the registry: the rest is sent after it and the digest is computed over
    /// the whole file.
    @Test func anUploadSurvivesARestart() async throws {
        try await Self.withRegistry { r in
            let content = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 / 3) }
            var v = try r.request("POST", "/v2/keep/blobs/uploads/")
            let id = try #require(v.header("Docker-Upload-UUID"))
            v = try r.request("PATCH", "/v2/keep/blobs/uploads/\(id)", body: Array(content[0..<20_000]))
            #expect(v.status == 202)
            await r.stop()
            try await r.start()
            v = try r.request("GET", "/v2/keep/blobs/uploads/\(id)")
            #expect(v.status == 204 && v.header("Range") == "0-19999")
            // Not from another repository.
            #expect(try r.request("GET", "/v2/other/blobs/uploads/\(id)").status == 404)
            let digest = "sha256:" + SHA256.hash(content)
            v = try r.request(
                "PUT", "/v2/keep/blobs/uploads/\(id)?digest=\(digest)", headers: ["Content-Range": "20000-49999"],
                body: Array(content[20_000...]))
            #expect(v.status == 201, "\(v.text)")
            #expect(try r.request("GET", "/v2/keep/blobs/\(digest)").body == content)
            // A cancelled upload is gone.
            v = try r.request("POST", "/v2/keep/blobs/uploads/")
            let other = try #require(v.header("Docker-Upload-UUID"))
            #expect(try r.request("DELETE", "/v2/keep/blobs/uploads/\(other)").status == 204)
            #expect(try r.request("GET", "/v2/keep/blobs/uploads/\(other)").status == 404)
        }
    }

    /// Deleting a tag keeps the manifest; deleting a manifest by digest removes it and its tags; with deletes
    /// disabled every DELETE is refused.
    @Test func deletes() async throws {
        try await Self.withRegistry { r in
            let (digest, _) = try r.pushImage(
                "del/me", reference: "v1", layers: [Array("layer".utf8)], config: Array("{}".utf8))
            var v = try r.request(
                "PUT", "/v2/del/me/manifests/v2",
                headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"],
                body: try r.request("GET", "/v2/del/me/manifests/v1").body)
            #expect(v.status == 201)
            #expect(try r.request("DELETE", "/v2/del/me/manifests/v2").status == 202)
            #expect(try r.request("GET", "/v2/del/me/manifests/v2").status == 404)
            #expect(try r.request("GET", "/v2/del/me/manifests/\(digest)").status == 200)
            v = try r.request(
                "PUT", "/v2/del/me/manifests/v3",
                headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"],
                body: try r.request("GET", "/v2/del/me/manifests/v1").body)
            #expect(try r.request("DELETE", "/v2/del/me/manifests/\(digest)").status == 202)
            for reference in ["v1", "v3", digest] {
                #expect(try r.request("GET", "/v2/del/me/manifests/\(reference)").status == 404, "\(reference)")
            }
            #expect(try r.request("GET", "/v2/del/me/tags/list").json?["tags"]?.stringArray == [])
            #expect(try r.request("DELETE", "/v2/del/me/manifests/\(digest)").status == 404)
        }
        try await Self.withRegistry(configure: { $0.allowDelete = false }) { r in
            let (digest, _) = try r.pushImage("keep/me", reference: "v1", layers: [], config: Array("{}".utf8))
            let v = try r.request("DELETE", "/v2/keep/me/manifests/\(digest)")
            #expect(v.status == 405 && v.errorCode == "UNSUPPORTED")
            #expect(try r.request("GET", "/v2/keep/me/manifests/v1").status == 200)
        }
    }

    /// `n` and `last` page through tags and the catalog, with a `Link` to the next page.
    @Test func pagination() async throws {
        try await Self.withRegistry { r in
            for tag in ["a", "b", "c", "d", "e"] {
                try r.pushImage("pages", reference: tag, layers: [], config: Array("{}".utf8))
            }
            var v = try r.request("GET", "/v2/pages/tags/list?n=2")
            #expect(v.json?["tags"]?.stringArray == ["a", "b"])
            #expect(v.header("Link") == "</v2/pages/tags/list?last=b&n=2>; rel=\"next\"")
            v = try r.request("GET", "/v2/pages/tags/list?n=2&last=d")
            #expect(v.json?["tags"]?.stringArray == ["e"] && v.header("Link") == nil)
            v = try r.request("GET", "/v2/pages/tags/list?n=x")
            #expect(v.status == 400)
            for name in ["z/one", "y/two"] {
                try r.pushImage(name, reference: "t", layers: [], config: Array("{}".utf8))
            }
            v = try r.request("GET", "/v2/_catalog?n=1&last=pages")
            #expect(v.json?["repositories"]?.stringArray == ["y/two"])
            #expect(v.header("Link") == "</v2/_catalog?last=y/two&n=1>; rel=\"next\"")
        }
    }
}
