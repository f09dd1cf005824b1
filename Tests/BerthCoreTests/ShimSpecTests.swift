import Foundation
import Testing

@testable import BerthCore

struct ShimSpecTests {
    static let id = "4f1d0c2b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817065f4e"

    /// The spec the daemon writes for `docker run busybox echo hi` before any option changes it.
    static func defaultSpec() -> ShimSpec {
        ShimSpec(
            id: id, stateDir: "/run/berth/containers/\(id)",
            logPath: "/var/lib/berth/containers/\(id)/\(id)-json.log", rootfs: "/run/berth/containers/\(id)/rootfs",
            rootMounts: [
                MountSpec(
                    type: "overlay", source: "overlay", options: ["lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w"])
            ],
            args: ["echo", "hi"],
            env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=4f1d0c2b9a8e"],
            cgroupPath: "berth/\(id)")
    }

    /// A spec with every field moved off its default.
    static func fullSpec() throws -> ShimSpec {
        var spec = defaultSpec()
        spec.rootMounts.append(MountSpec(type: "bind", source: "/var/lib/berth/vfs/dir/x", options: ["rbind", "rw"]))
        spec.readonlyRootfs = true
        spec.mounts = [
            .init(source: "/srv/data", target: "/data", type: "bind", options: ["rbind", "ro"]),
            .init(source: "tmpfs", target: "/run", type: "tmpfs", options: ["nosuid", "size=65536k"]),
        ]
        spec.hostname = "web-1"
        spec.hostNetwork = true
        spec.args = ["/bin/sh", "-c", "echo \"quoted\" \\ back\tslash\n", "ünïcödé 😀"]
        spec.env = ["A=1", "EMPTY=", "MULTI=a=b=c"]
        spec.cwd = "/work dir"
        spec.user = "1000:1000"
        spec.capabilities = ["CAP_CHOWN", "CAP_NET_ADMIN"]
        spec.privileged = true
        spec.noNewPrivileges = true
        spec.seccomp = .custom(
            try SeccompProfile(
                json: JSONValue.parse(
                    #"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#
                )))
        spec.rlimits = [
            .init(name: "nofile", soft: 1024, hard: 4096), .init(name: "core", soft: 0, hard: 1 << 40),
        ]
        spec.maskedPaths = ["/proc/kcore"]
        spec.readonlyPaths = []
        spec.openStdin = true
        spec.stdinOnce = true
        spec.cgroupPath = "berth/custom"
        spec.resources.memory = 33_554_432
        spec.resources.memorySwap = -1
        spec.resources.nanoCpus = 1_500_000_000
        spec.resources.cpuShares = 512
        spec.resources.cpuQuota = 50_000
        spec.resources.cpuPeriod = 100_000
        spec.resources.cpusetCpus = "0-1"
        spec.resources.cpusetMems = "0"
        spec.resources.pidsLimit = 64
        spec.resources.allowAllDevices = true
        spec.logMaxSize = 104_857_600
        return spec
    }

    @Test func everyFieldSurvivesTheJSONRoundTrip() throws {
        let spec = try Self.fullSpec()
        #expect(spec != Self.defaultSpec())
        let text = spec.json.serialized
        let decoded = try ShimSpec(json: JSONValue.parse(text))
        #expect(decoded == spec)
        #expect(decoded.json.serialized == text)
        #expect(text.contains(#""logMaxSize":104857600"#))
    }

    @Test func defaultSpecRoundTripsAndKeepsDefaults() throws {
        let spec = Self.defaultSpec()
        let decoded = try ShimSpec(json: JSONValue.parse(spec.json.serialized))
        #expect(decoded == spec)
        #expect(decoded.hostname == nil)
        #expect(decoded.seccomp == .dockerDefault)
        #expect(decoded.capabilities == Capabilities.dockerDefault)
        #expect(decoded.maskedPaths == ShimSpec.defaultMaskedPaths)
    }

    @Test func seccompUnconfinedIsAString() throws {
        var spec = Self.defaultSpec()
        spec.seccomp = .unconfined
        #expect(spec.json["seccomp"] == .string("unconfined"))
        #expect(try ShimSpec(json: JSONValue.parse(spec.json.serialized)).seccomp == .unconfined)
    }

    /// Generated text is compared with a committed file: a change to the spec format shows in review.
    @Test func defaultSpecMatchesGoldenFile() throws {
        let golden = try Self.readGolden("shimspec-default.json")
        let actual = Self.defaultSpec().json.serialized + "\n"
        #expect(actual == golden, "regenerate Golden/shimspec-default.json only for an intended format change")
    }

    @Test func missingRequiredFieldsAreRejected() throws {
        var json = Self.defaultSpec().json
        json["rootfs"] = nil
        #expect(throws: BerthError.self) { try ShimSpec(json: json) }
        json = Self.defaultSpec().json
        json["args"] = .string("echo hi")
        do {
            _ = try ShimSpec(json: json)
            Issue.record("args as a string accepted")
        } catch {
            #expect(error.message == "spec: args must be an array")
        }
    }

    /// Reads `Golden/<name>` next to this file (no bundle resources needed).
    static func readGolden(_ name: String, file: String = #filePath) throws -> String {
        let dir = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
        let path = dir + "/Golden/" + name
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}

struct ExitStatusTests {
    @Test func roundTripsThroughText() throws {
        let status = ExitStatus(
            exitCode: 137, oomKilled: true, finishedAt: 1_795_962_357_009_667_800, error: "killed: \"oom\"")
        let text = status.json.serialized
        #expect(
            text == #"{"exitCode":137,"oomKilled":true,"finishedAt":"1795962357009667800","error":"killed: \"oom\""}"#)
        #expect(try ExitStatus(json: JSONValue.parse(text)) == status)

        let negative = ExitStatus(exitCode: -1, oomKilled: false, finishedAt: 0)
        #expect(try ExitStatus(json: JSONValue.parse(negative.json.serialized)) == negative)
    }

    @Test func defaultsAndMissingExitCode() throws {
        let minimal = try ExitStatus(json: JSONValue.parse(#"{"exitCode":3}"#))
        #expect(minimal == ExitStatus(exitCode: 3, oomKilled: false, finishedAt: 0, error: ""))
        #expect(throws: BerthError.self) { try ExitStatus(json: JSONValue.parse(#"{"oomKilled":true}"#)) }
        #expect(throws: BerthError.self) { try ExitStatus(json: JSONValue.parse(#"{"exitCode":"0"}"#)) }
    }
}

struct ShimMessageTests {
    @Test func frameIsTypeThenBigEndianLengthThenPayload() {
        #expect(ShimMessage.frame(ShimMessage.stdout, Array("hi".utf8)) == [0x4F, 0, 0, 0, 2, 0x68, 0x69])
        #expect(ShimMessage.frame(ShimMessage.closeStdin, []) == [0x43, 0, 0, 0, 0])
        let big = [UInt8](repeating: 7, count: 0x01_02_03)
        let frame = ShimMessage.frame(ShimMessage.stdin, big)
        #expect(frame.count == ShimMessage.headerSize + big.count)
        #expect(Array(frame.prefix(5)) == [UInt8(ascii: "I"), 0x00, 0x01, 0x02, 0x03])
        #expect(frame.dropFirst(5).allSatisfy { $0 == 7 })
    }

    @Test func typeBytesAreDistinct() {
        let types = [
            ShimMessage.started, ShimMessage.stdout, ShimMessage.stderr, ShimMessage.exited, ShimMessage.failed,
            ShimMessage.hello, ShimMessage.stdin, ShimMessage.closeStdin, ShimMessage.signal,
        ]
        #expect(Set(types).count == types.count)
        #expect(String(decoding: types, as: UTF8.self) == "SOEXFHICK")
    }
}
