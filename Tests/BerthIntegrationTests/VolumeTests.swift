import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// Named and anonymous volumes, binds, tmpfs and `--volumes-from`, with real containers.
@Suite(.serialized)
struct VolumeTests {
    static func create(_ d: TestDaemon, _ body: String) throws -> APIClient.Response {
        try d.client.call("POST", "/volumes/create", body: Array(body.utf8))
    }

    static func volumeNames(_ d: TestDaemon) throws -> [String] {
        (try d.client.checked("GET", "/volumes").json?["Volumes"]?.arrayValue ?? []).compactMap {
            $0["Name"]?.stringValue
        }
    }

    /// A named volume keeps its data across containers, gets the image's content when first used empty, can be
    /// mounted read-only, and cannot be removed while a container uses it.
    @Test func namedVolumesOutliveContainers() async throws {
        try await TestDaemon.with { d in
            let made = try Self.create(d, "{\"Name\":\"keep\",\"Labels\":{\"team\":\"a\"}}")
            #expect(made.status == 201)
            #expect(made.json?["Mountpoint"]?.stringValue == d.root + "/lib/volumes/keep/_data")
            var r = try d.run(["sh", "-c", "echo kept > /v/f"], host: [("Binds", .strings(["keep:/v"]))])
            #expect(r.exitCode == 0)
            r = try d.run(["cat", "/v/f"], host: [("Binds", .strings(["keep:/v:ro"]))])
            #expect(r.stdout == "kept\n")
            r = try d.run(["touch", "/v/g"], host: [("Binds", .strings(["keep:/v:ro"]))])
            #expect(r.exitCode != 0 && r.stderr.contains("Read-only"))
            // An empty named volume made by `-v` gets what the image has at its path.
            r = try d.run(["cat", "/etc/group"], host: [("Binds", .strings(["etcvol:/etc"]))])
            #expect(r.stdout.contains("root:x:0:"))
            #expect(try Self.volumeNames(d).contains("etcvol"))
            #expect(
                FileManager.default.fileExists(atPath: d.root + "/lib/volumes/etcvol/_data/passwd"))
            // In use: refused, even with force; free again once the container is gone.
            let user = try d.create(["sleep", "30"], host: [("Binds", .strings(["keep:/v"]))])
            try d.client.checked("POST", "/containers/\(user)/start")
            let refused = try d.client.call("DELETE", "/volumes/keep", query: [("force", "1")])
            #expect(refused.status == 409)
            #expect(refused.json?["message"]?.stringValue?.contains("volume is in use") == true)
            let inspect = try d.client.checked("GET", "/containers/\(user)/json").json?["Mounts"]?.arrayValue?.first
            #expect(inspect?["Type"]?.stringValue == "volume" && inspect?["Name"]?.stringValue == "keep")
            #expect(inspect?["Destination"]?.stringValue == "/v")
            let filtered = try d.client.checked(
                "GET", "/volumes", query: [("filters", "{\"dangling\":[\"false\"]}")]
            ).json?["Volumes"]?.arrayValue?.compactMap { $0["Name"]?.stringValue }
            #expect(filtered == ["keep"])
            try d.client.checked("DELETE", "/containers/\(user)", query: [("force", "1")])
            // A daemon restart keeps the volumes and their data.
            d.stop()
            try d.start()
            let info = try d.client.checked("GET", "/volumes/keep").json
            #expect(info?["Labels"]?["team"]?.stringValue == "a")
            r = try d.run(["cat", "/v/f"], host: [("Binds", .strings(["keep:/v"]))])
            #expect(r.stdout == "kept\n")
            try d.client.checked("DELETE", "/volumes/keep")
            #expect(!FileManager.default.fileExists(atPath: d.root + "/lib/volumes/keep"))
            #expect(try d.client.call("GET", "/volumes/keep").status == 404)
            #expect(try d.client.call("DELETE", "/volumes/keep").status == 404)
        }
    }

    /// `VOLUME` paths (Config.Volumes) get anonymous volumes, removed with `rm -v` and pruned; named ones stay
    /// unless prune is asked for all.
    @Test func anonymousVolumesAndPrune() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(
                ["sh", "-c", "echo a > /anon/x"], config: [("Volumes", .object([("/anon", .object([]))]))])
            try d.client.checked("POST", "/containers/\(id)/start")
            _ = try d.client.checked("POST", "/containers/\(id)/wait")
            let mounts = try d.client.checked("GET", "/containers/\(id)/json").json?["Mounts"]?.arrayValue ?? []
            let anon = try #require(mounts.first?["Name"]?.stringValue)
            #expect(anon.count == 64)
            #expect(
                try d.client.checked("GET", "/volumes/\(anon)").json?["Labels"]?["com.docker.volume.anonymous"] != nil)
            // --volumes-from sees the same volume.
            let r = try d.run(["cat", "/anon/x"], host: [("VolumesFrom", .strings([id]))])
            #expect(r.stdout == "a\n")
            try d.client.checked("DELETE", "/containers/\(id)", query: [("v", "1")])
            #expect(try !Self.volumeNames(d).contains(anon))

            _ = try Self.create(d, "{\"Name\":\"named\"}")
            let other = try d.create(["true"], config: [("Volumes", .object([("/a2", .object([]))]))])
            try d.client.checked("DELETE", "/containers/\(other)")
            #expect(try Self.volumeNames(d).count == 2)
            let pruned = try d.client.checked("POST", "/volumes/prune").json
            #expect(pruned?["VolumesDeleted"]?.stringArray?.count == 1)
            #expect(try Self.volumeNames(d) == ["named"])
            let all = try d.client.checked("POST", "/volumes/prune", query: [("filters", "{\"all\":[\"true\"]}")]).json
            #expect(all?["VolumesDeleted"]?.stringArray == ["named"])
            #expect(try Self.volumeNames(d).isEmpty)
        }
    }

    /// `--mount` of each type, and a local volume backed by tmpfs, mounted only while a container uses it.
    @Test func mountsOfEveryType() async throws {
        try await TestDaemon.with { d in
            let host = d.root + "/hostdir"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try "from host\n".write(toFile: host + "/in", atomically: true, encoding: .utf8)
            let mounts: JSONValue = .array([
                .object([
                    ("Type", .string("bind")), ("Source", .string(host)), ("Target", .string("/b")),
                    ("ReadOnly", .bool(true)),
                ]),
                .object([("Type", .string("volume")), ("Source", .string("mvol")), ("Target", .string("/v"))]),
                .object([
                    ("Type", .string("tmpfs")), ("Target", .string("/t")),
                    ("TmpfsOptions", .object([("SizeBytes", .int(1 << 20))])),
                ]),
            ])
            let r = try d.run(
                [
                    "sh", "-c",
                    "cat /b/in; touch /b/x 2>/dev/null || echo ro; echo v > /v/f && cat /v/f; grep ' /t ' /proc/mounts",
                ],
                host: [("Mounts", mounts)])
            #expect(r.stdout.hasPrefix("from host\nro\nv\ntmpfs /t tmpfs"))
            #expect(r.stdout.contains("size=1024k"))
            _ = try Self.create(
                d, "{\"Name\":\"fast\",\"DriverOpts\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=2m\"}}")
            let data = d.root + "/lib/volumes/fast/_data"
            let user = try d.create(["sleep", "30"], host: [("Binds", .strings(["fast:/f"]))])
            try d.client.checked("POST", "/containers/\(user)/start")
            let mountinfo = { (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "" }
            #expect(mountinfo().contains(" \(data) "))
            let seen = try CLITests.berth(d, ["exec", user, "sh", "-c", "grep ' /f ' /proc/mounts"])
            #expect(seen.stdout.contains("tmpfs") && seen.stdout.contains("size=2048k"))
            try d.client.checked("DELETE", "/containers/\(user)", query: [("force", "1")])
            #expect(!mountinfo().contains(" \(data) "))
            try d.client.checked("DELETE", "/volumes/fast")
        }
    }

    /// Bad specs: clear 400s, and nothing is left (no container, no volume).
    @Test func badMountsAreRefused() async throws {
        try await TestDaemon.with { d in
            func refused(
                _ host: [(String, JSONValue)], _ config: [(String, JSONValue)] = [], _ text: String, status: Int = 400
            ) throws {
                var body: JSONValue = .object([("Image", .string("busybox")), ("Cmd", .strings(["true"]))])
                for (k, v) in config { body[k] = v }
                body["HostConfig"] = .object(host)
                let r = try d.client.call("POST", "/containers/create", body: Array(body.serialized.utf8))
                #expect(r.status == status, "\(host)")
                #expect(
                    r.json?["message"]?.stringValue?.contains(text) == true, "\(r.json?["message"]?.stringValue ?? "")")
            }
            try refused([("Binds", .strings(["/no/such/dir:/x"]))], [], "bind source path does not exist")
            try refused([("Binds", .strings(["bad name:/x"]))], [], "invalid characters")
            try refused([("Binds", .strings(["v1:relative"]))], [], "must be absolute")
            try refused([("Binds", .strings(["v1:/x:bogus"]))], [], "invalid mode")
            try refused([("Binds", .strings(["v1:/x", "v2:/x"]))], [], "Duplicate mount point")
            try refused(
                [("Mounts", .array([.object([("Type", .string("nfs")), ("Target", .string("/x"))])]))], [],
                "mount type unknown")
            try refused(
                [
                    (
                        "Mounts",
                        .array([
                            .object([("Type", .string("tmpfs")), ("Source", .string("x")), ("Target", .string("/x"))])
                        ])
                    )
                ],
                [], "Source must not be specified")
            try refused(
                [("VolumeDriver", .string("nosuch")), ("Binds", .strings(["v3:/x"]))], [],
                "plugin \"nosuch\" not found",
                status: 404)
            #expect(try Self.volumeNames(d).isEmpty)
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )
            #expect(try Self.create(d, "{\"Name\":\"a b\"}").status == 400)
            #expect(try Self.create(d, "{\"Name\":\"x\",\"DriverOpts\":{\"bogus\":\"1\"}}").status == 400)
            #expect(try Self.volumeNames(d).isEmpty)
        }
    }
}
