import BerthCore
import BerthOS
import BerthTestSupport
import Testing

@testable import BerthDaemon

struct ParseCPUSetTests {
    @Test(arguments: [
        ("0-2,4", [Int64(0), 1, 2, 4]), ("0", [0]), ("3", [3]), ("0-0", [0]), ("1,3-4,7", [1, 3, 4, 7]),
        ("10-12", [10, 11, 12]),
    ])
    func parses(_ text: String, _ cpus: [Int64]) {
        #expect(ContainerService.parseCPUSet(text) == cpus)
    }

    @Test(arguments: ["", "a", "2-1", "-1", "0-", "-", ",", "1,,2", "1,", "0-2-4", " 1", "1 ", "0x1", "1-a"])
    func rejects(_ text: String) {
        #expect(ContainerService.parseCPUSet(text) == nil)
    }
}

struct HumanDurationTests {
    static let second: Int64 = 1_000_000_000
    static let minute = 60 * second
    static let hour = 60 * minute
    static let day = 24 * hour
    static let week = 7 * day
    static let month = 30 * day
    static let year = 365 * day

    /// go-units `TestHumanDuration`, row for row.
    static let goUnits: [(Int64, String)] = [
        (450 * second / 1000, "Less than a second"), (second, "1 second"), (45 * second, "45 seconds"),
        (46 * second, "46 seconds"), (59 * second, "59 seconds"), (60 * second, "About a minute"),
        (minute, "About a minute"), (3 * minute, "3 minutes"), (35 * minute, "35 minutes"),
        (35 * minute + 40 * second, "35 minutes"), (45 * minute, "45 minutes"),
        (45 * minute + 40 * second, "45 minutes"), (46 * minute, "46 minutes"), (59 * minute, "59 minutes"),
        (hour, "About an hour"), (hour + 29 * minute, "About an hour"), (hour + 31 * minute, "2 hours"),
        (hour + 59 * minute, "2 hours"), (3 * hour, "3 hours"), (3 * hour + 29 * minute, "3 hours"),
        (3 * hour + 31 * minute, "4 hours"), (3 * hour + 59 * minute, "4 hours"), (3 * hour + 60 * minute, "4 hours"),
        (24 * hour, "24 hours"), (day + 12 * hour, "36 hours"), (2 * day, "2 days"), (7 * day, "7 days"),
        (13 * day + 5 * hour, "13 days"), (2 * week, "2 weeks"), (2 * week + 4 * day, "2 weeks"),
        (3 * week, "3 weeks"), (4 * week, "4 weeks"), (4 * week + 3 * day, "4 weeks"), (month, "4 weeks"),
        (month + 2 * week, "6 weeks"), (2 * month, "2 months"), (2 * month + 2 * week, "2 months"),
        (3 * month, "3 months"), (3 * month + week, "3 months"), (5 * month + 2 * week, "5 months"),
        (13 * month, "13 months"), (23 * month, "23 months"), (24 * month, "24 months"),
        (24 * month + 2 * week, "2 years"), (3 * year + 2 * month, "3 years"),
    ]

    @Test(arguments: goUnits)
    func goUnitsTable(_ nanos: Int64, _ text: String) {
        #expect(ContainerService.humanDuration(nanos) == text)
    }

    @Test func negativeDurationsAreLessThanASecond() {
        #expect(ContainerService.humanDuration(-5 * Self.second) == "Less than a second")
        #expect(ContainerService.humanDuration(0) == "Less than a second")
    }
}

struct ParseBindTests {
    @Test func validBinds() throws {
        try withTemporaryDirectory { dir in
            let ro = try ContainerService.parseBindSpec("\(dir):/data:ro")
            #expect(ro.type == "bind" && ro.source == dir && ro.destination == "/data" && !ro.rw && ro.mode == "ro")
            #expect(try ContainerService.parseBindSpec("\(dir):/data").rw)
            #expect(try ContainerService.parseBindSpec("\(dir):/data:rw,z").rw)
            #expect(try ContainerService.parseBindSpec("\(dir):/data:rprivate,Z").propagation == "rprivate")
            #expect(try ContainerService.parseBindSpec("\(dir):/data/./x//").destination == "/data/x")
            try FileSystem.writeFile(dir + "/file", "x")
            #expect(try ContainerService.parseBindSpec("\(dir)/file:/etc/x:ro").source == dir + "/file")
        }
    }

    @Test func namedVolumes() throws {
        let v = try ContainerService.parseBindSpec("data:/data:ro,nocopy")
        #expect(v.type == "volume" && v.name == "data" && !v.rw && v.noCopy)
        #expect(try ContainerService.parseBindSpec("my_vol.1-x:/v").name == "my_vol.1-x")
    }

    private func expectInvalid(_ text: String, _ message: String) {
        do {
            let mount = try ContainerService.parseBindSpec(text)
            Issue.record("\(text) accepted as \(mount)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func invalidBinds() throws {
        try withTemporaryDirectory { dir in
            expectInvalid("\(dir)/missing:/data", "bind source path does not exist: \(dir)/missing")
            expectInvalid("relative/dir:/data", "includes invalid characters for a local volume name")
            expectInvalid("a:/data", "includes invalid characters")
            expectInvalid("\(dir):relative", "mount path must be absolute")
            expectInvalid("\(dir):/", "destination can't be '/'")
            expectInvalid("\(dir)", "invalid volume specification")
            expectInvalid(":/data", "invalid volume specification")
            expectInvalid("\(dir):/a:ro:extra", "invalid volume specification")
            expectInvalid("\(dir):/data:rx", "invalid mode: rx")
            expectInvalid("\(dir):/data:ro,bogus", "invalid mode: bogus")
            expectInvalid("\(dir):/data:nocopy", "invalid mode: nocopy")
        }
    }

    @Test func mountSpecs() throws {
        let tmpfs = try ContainerService.parseMountSpec(
            .object([
                ("Type", .string("tmpfs")), ("Target", .string("/t")),
                ("TmpfsOptions", .object([("SizeBytes", .int(1024)), ("Mode", .int(0o1777))])),
            ]))
        #expect(tmpfs.tmpfsOptions == ["nosuid", "nodev", "noexec", "size=1024", "mode=1777"])
        let vol = try ContainerService.parseMountSpec(
            .object([
                ("Type", .string("volume")), ("Source", .string("vv")), ("Target", .string("/v")),
                ("ReadOnly", .bool(true)),
                (
                    "VolumeOptions",
                    .object([
                        ("NoCopy", .bool(true)),
                        (
                            "DriverConfig",
                            .object([("Name", .string("local")), ("Options", .object([("type", .string("tmpfs"))]))])
                        ),
                    ])
                ),
            ]))
        #expect(
            vol.name == "vv" && !vol.rw && vol.noCopy && vol.driver == "local" && vol.volumeOptions == ["type": "tmpfs"]
        )
        #expect(throws: BerthError.self) {
            try ContainerService.parseMountSpec(.object([("Type", .string("bind")), ("Target", .string("/x"))]))
        }
        #expect(throws: BerthError.self) {
            try ContainerService.parseMountSpec(.object([("Type", .string("volume")), ("Target", .string("x"))]))
        }
    }
}

struct SecurityOptionsTests {
    @Test func seccompUnconfined() throws {
        guard case .seccompUnconfined = try SecurityOptions.parse("seccomp=unconfined") else {
            Issue.record("seccomp=unconfined")
            return
        }
        guard case .seccompUnconfined = try SecurityOptions.parse("seccomp:unconfined") else {
            Issue.record("seccomp:unconfined")
            return
        }
    }

    @Test func noNewPrivilegesForms() throws {
        for (text, expected) in [
            ("no-new-privileges", true), ("no-new-privileges:true", true), ("no-new-privileges=true", true),
            ("no-new-privileges=false", false), ("no-new-privileges:false", false),
        ] {
            guard case .noNewPrivileges(let on) = try SecurityOptions.parse(text) else {
                Issue.record("\(text) is not no-new-privileges")
                continue
            }
            #expect(on == expected, "\(text)")
        }
    }

    @Test func seccompProfileJSON() throws {
        let text =
            #"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#
        guard case .seccompProfile(let profile) = try SecurityOptions.parse(text) else {
            Issue.record("profile not decoded")
            return
        }
        #expect(profile.defaultAction == .allow)
        #expect(profile.syscalls.map(\.names) == [["chmod"]])
    }

    @Test func ignoredLSMOptions() throws {
        for text in ["label=disable", "label:type:svirt_t", "apparmor=unconfined", "systempaths=unconfined"] {
            guard case .ignored = try SecurityOptions.parse(text) else {
                Issue.record("\(text) not ignored")
                continue
            }
        }
    }

    private func expectError(_ text: String, _ fragments: [String]) {
        do {
            let option = try SecurityOptions.parse(text)
            Issue.record("\(text) accepted as \(option)")
        } catch {
            #expect(error.code == .invalidArgument)
            for f in fragments { #expect(error.message.contains(f), "\(error.message) should mention \(f)") }
        }
    }

    @Test func badOptions() {
        expectError("seccomp={not json", ["Decoding seccomp profile failed", "invalid JSON at offset 1"])
        expectError(#"seccomp={"defaultAction":"SCMP_ACT_FOO"}"#, ["Decoding seccomp profile failed", "SCMP_ACT_FOO"])
        expectError(#"seccomp=[]"#, ["Decoding seccomp profile failed"])
        expectError("no-new-privileges=maybe", ["Invalid --security-opt", "no-new-privileges=maybe"])
        expectError("bogus=1", ["Invalid --security-opt", "bogus=1"])
        expectError("nonsense", ["Invalid --security-opt", "nonsense"])
    }
}

struct ImageServiceGlobTests {
    @Test(arguments: [
        ("busybox", "busybox"), ("busy*", "busybox"), ("*box", "busybox"), ("b?sybox", "busybox"), ("*", "busybox"),
        ("*", ""), ("", ""), ("busybox:*", "busybox:1.36"), ("*:latest", "alpine:latest"), ("a*b*c", "axxbyyc"),
        ("localhost:5000/*", "localhost:5000/app"), ("myorg/*:v?", "myorg/app:v2"),
    ])
    func matches(_ pattern: String, _ text: String) {
        #expect(ImageService.glob(pattern, text))
    }

    @Test(arguments: [
        ("busy", "busybox"), ("busybox", "busy"), ("", "a"), ("b?sybox", "bsybox"), ("*:latest", "alpine:3"),
        ("a*b*c", "axxbyy"),
        // As Go's path.Match in moby's FamiliarMatch: wildcards stop at `/`.
        ("*", "myorg/app"), ("localhost:5000/*", "localhost:5000/a/b"), ("a?b", "a/b"),
    ])
    func doesNotMatch(_ pattern: String, _ text: String) {
        #expect(!ImageService.glob(pattern, text))
    }

    @Test func repositoryOfATag() {
        #expect(ImageService.repository(of: "busybox:latest") == "busybox")
        #expect(ImageService.repository(of: "localhost:5000/a/b:v1") == "localhost:5000/a/b")
        #expect(ImageService.repository(of: "localhost:5000/a") == "localhost:5000/a")
        #expect(ImageService.repository(of: "plain") == "plain")
    }
}
