import BerthCore
import Testing

@testable import BerthCLI

struct ParsingTests {
    @Test func memorySizesUseByteSize() throws {
        #expect(try ByteSize.parse("64m") == 67_108_864)
        #expect(try ByteSize.parse("1g") == 1_073_741_824)
        #expect(try ByteSize.parse("512k") == 524_288)
        #expect(throws: BerthError.self) { try ByteSize.parse("12zz") }
        let r = try CreateBodyTests.request(["-m", "1.5g", "--memory-swap", "2g", "busybox"])
        #expect(r.body["HostConfig"]?["Memory"]?.int64Value == 1_610_612_736)
        #expect(r.body["HostConfig"]?["MemorySwap"]?.int64Value == 2_147_483_648)
    }

    @Test func cpusBecomeNanoCPUs() throws {
        #expect(try ContainerOptions.parseNanoCPUs("0.5") == 500_000_000)
        #expect(try ContainerOptions.parseNanoCPUs("2") == 2_000_000_000)
        #expect(try ContainerOptions.parseNanoCPUs("1.25") == 1_250_000_000)
        #expect(try ContainerOptions.parseNanoCPUs(".001") == 1_000_000)
        #expect(try ContainerOptions.parseNanoCPUs("0.000000001") == 1)
        #expect(try ContainerOptions.parseNanoCPUs("1.500000000000") == 1_500_000_000)
        #expect(throws: CLIError.self) { try ContainerOptions.parseNanoCPUs("0.0000000001") }
        #expect(throws: CLIError.self) { try ContainerOptions.parseNanoCPUs("abc") }
        #expect(throws: CLIError.self) { try ContainerOptions.parseNanoCPUs("") }
    }

    @Test func ulimits() throws {
        #expect(
            try ContainerOptions.parseUlimit("nofile=1024:2048").serialized
                == #"{"Name":"nofile","Hard":2048,"Soft":1024}"#)
        #expect(try ContainerOptions.parseUlimit("nproc=64").serialized == #"{"Name":"nproc","Hard":64,"Soft":64}"#)
        #expect(try ContainerOptions.parseUlimit("core=-1:-1").serialized == #"{"Name":"core","Hard":-1,"Soft":-1}"#)
        func message(_ s: String) -> String? {
            do { _ = try ContainerOptions.parseUlimit(s) } catch { return error.message }
            return nil
        }
        #expect(message("nofile") == "invalid ulimit argument: nofile")
        #expect(message("bogus=1") == "invalid ulimit type: bogus")
        #expect(message("nofile=x") == "invalid ulimit soft value x")
        #expect(message("nofile=1:y") == "invalid ulimit hard value y")
        #expect(message("nofile=10:5") == "ulimit soft limit must be less than or equal to hard limit: 10 > 5")
    }

    @Test func envFiles() throws {
        let text = "\u{FEFF}# comment\n\n  A=1\nB\nC\r\nD= spaced value \nE=x=y\n"
        let env = try ContainerOptions.parseEnvFile(Array(text.utf8)) { $0 == "B" ? "from-env" : nil }
        #expect(env == ["A=1", "B=from-env", "D= spaced value ", "E=x=y"])
        #expect(throws: CLIError.self) { try ContainerOptions.parseEnvFile(Array("A B=1\n".utf8)) { _ in nil } }
        #expect(throws: CLIError.self) { try ContainerOptions.parseEnvFile(Array("=1\n".utf8)) { _ in nil } }
    }

    @Test func seccompProfilesAreSentCompacted() throws {
        let opts = try ContainerOptions.securityOptions(
            ["seccomp=/p.json", "seccomp=unconfined", "no-new-privileges", "label:disable"],
            readFile: { (_: String) throws(CLIError) -> [UInt8] in Array("{ \"a\" : [ 1, \"b c\" ] }\n".utf8) })
        #expect(opts == [#"seccomp={"a":[1,"b c"]}"#, "seccomp=unconfined", "no-new-privileges", "label:disable"])
        #expect(throws: CLIError.self) {
            try ContainerOptions.securityOptions(
                ["seccomp=/p.json"], readFile: { (_: String) throws(CLIError) -> [UInt8] in Array("{nope".utf8) })
        }
    }

    @Test func capabilitiesAreNormalized() {
        #expect(
            ContainerOptions.normalizeCapabilities(["net_admin", "CAP_SYS_TIME", "all", "NET_ADMIN"]) == [
                "CAP_NET_ADMIN", "CAP_SYS_TIME", "ALL",
            ])
    }

    @Test func filtersBecomeTheCLIsJSON() throws {
        #expect(try Filters.json(Filters.parse(["type=container"])) == #"{"type":{"container":true}}"#)
        #expect(
            try Filters.json(Filters.parse(["status=exited", "label=a=b", "status=created", " Name = x "]))
                == #"{"label":{"a=b":true},"name":{"x":true},"status":{"created":true,"exited":true}}"#)
        #expect(try Filters.query([]).isEmpty)
        do {
            _ = try Filters.parse(["nope"])
            Issue.record("accepted a filter without '='")
        } catch {
            #expect(
                error.message
                    == #"invalid argument "nope" for "-f, --filter" flag: bad format of filter (expected name=value)"#)
        }
    }

    @Test func goDurations() {
        #expect(TimeFormat.parseDuration("10s") == 10)
        #expect(TimeFormat.parseDuration("1h30m") == 5400)
        #expect(TimeFormat.parseDuration("1.5h") == 5400)
        #expect(TimeFormat.parseDuration("300ms") == 0.3)
        #expect(TimeFormat.parseDuration("-1m") == -60)
        #expect(TimeFormat.parseDuration("10") == nil)
        #expect(TimeFormat.parseDuration("2026-11-29T14:03:07Z") == nil)
        #expect(TimeFormat.parseDuration("") == nil)
    }

    @Test func sinceAndUntilValues() {
        let now: Int64 = 1_795_963_518_500_000_000
        #expect(TimeFormat.timestamp("1h", nowNanos: now) == "1795959918")
        #expect(TimeFormat.timestamp("1795959919", nowNanos: now) == "1795959919")
        #expect(TimeFormat.timestamp("2026-11-29T14:03:07Z", nowNanos: now) == "2026-11-29T14:03:07Z")
        #expect(TimeFormat.timestamp("0", nowNanos: now) == "0")
    }

    @Test func imageNames() {
        #expect(ImageName("busybox") == ImageName(repository: "busybox", tag: nil, digest: nil))
        #expect(ImageName("busybox:1.36") == ImageName(repository: "busybox", tag: "1.36", digest: nil))
        #expect(ImageName("localhost:5000/app") == ImageName(repository: "localhost:5000/app", tag: nil, digest: nil))
        #expect(
            ImageName("localhost:5000/app:v1") == ImageName(repository: "localhost:5000/app", tag: "v1", digest: nil))
        #expect(ImageName("app@sha256:abc") == ImageName(repository: "app", tag: nil, digest: "sha256:abc"))
        #expect(ImageName.tagged("busybox") == "busybox:latest")
        #expect(ImageName.tagged("busybox:1") == "busybox:1")
        #expect(ImageName.tagged("app@sha256:abc") == "app@sha256:abc")
    }
}

extension ImageName {
    init(repository: String, tag: String?, digest: String?) {
        self.init(repository)
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }
}
