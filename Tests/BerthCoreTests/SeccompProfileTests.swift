import Testing

@testable import BerthCore

struct SeccompProfileTests {
    /// The capabilities Docker grants a container by default.
    static let dockerDefaultCaps: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    private func expectInvalid(_ text: String, mentioning fragments: [String]) {
        do {
            let json = try JSONValue.parse(text)
            _ = try SeccompProfile(json: json)
            Issue.record("expected \(text) to be rejected")
        } catch {
            #expect(error.code == .invalidArgument)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) should mention \(fragment)")
            }
        }
    }

    @Test func defaultProfileRoundTripsThroughJSON() throws {
        let json = SeccompProfile.dockerDefault.json
        let decoded = try SeccompProfile(json: json)
        #expect(decoded == SeccompProfile.dockerDefault)

        // And through text, as a profile file would be.
        let reparsed = try SeccompProfile(json: JSONValue.parse(json.serialized))
        #expect(reparsed == SeccompProfile.dockerDefault)
        #expect(reparsed.json == json)
    }

    @Test func defaultCapsAllowOrdinarySyscallsAndDenyNamespaces() {
        let resolved = SeccompProfile.dockerDefault.resolved(capabilities: Self.dockerDefaultCaps)
        #expect(resolved.defaultAction == .errno)
        #expect(resolved.defaultErrno == 1)
        #expect(resolved.architectures == ["x86_64", "x86", "x32"])

        for name in ["read", "write", "execve", "chroot", "openat", "getrandom", "arch_prctl", "modify_ldt"] {
            #expect(resolved.allowsUnconditionally(name), "\(name) should be allowed")
        }
        for name in [
            "mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "ptrace", "bpf", "reboot",
            "init_module", "open_by_handle_at", "clock_settime", "swapon", "userfaultfd",
        ] {
            #expect(resolved.rules(for: name).isEmpty, "\(name) should be denied")
        }
        // Architecture-specific entries for other architectures are left out.
        #expect(resolved.rules(for: "cacheflush").isEmpty)
        #expect(resolved.rules(for: "s390_runtime_instr").isEmpty)
    }

    @Test func cloneWithoutSysAdminForbidsNamespaceFlags() {
        let resolved = SeccompProfile.dockerDefault.resolved(capabilities: Self.dockerDefaultCaps)
        let clone = resolved.rules(for: "clone")
        #expect(
            clone == [
                SeccompProfile.Resolved.Rule(
                    name: "clone", action: .allow,
                    args: [SeccompProfile.ArgCondition(index: 0, value: 2_114_060_288, op: .maskedEqual)])
            ])
        #expect(
            resolved.rules(for: "clone3") == [SeccompProfile.Resolved.Rule(name: "clone3", action: .errno, errno: 38)])
        #expect(resolved.rules(for: "personality").count == 5)
        let socketArgs = resolved.rules(for: "socket").map(\.args)
        #expect(socketArgs == [[SeccompProfile.ArgCondition(index: 0, value: 40, op: .notEqual)]])
    }

    @Test func sysAdminAllowsMountAndUnrestrictedClone() {
        let resolved = SeccompProfile.dockerDefault.resolved(
            capabilities: Self.dockerDefaultCaps.union(["CAP_SYS_ADMIN"]))
        for name in ["mount", "umount2", "unshare", "setns", "sethostname", "clone", "clone3"] {
            #expect(resolved.allowsUnconditionally(name), "\(name) should be allowed with CAP_SYS_ADMIN")
        }
        #expect(resolved.rules(for: "clone").count == 1)
        #expect(resolved.rules(for: "clone3").map(\.action) == [.allow])
    }

    @Test func capabilityNamesAreNormalized() {
        let resolved = SeccompProfile.dockerDefault.resolved(capabilities: ["SYS_PTRACE", "sys_time"])
        #expect(resolved.allowsUnconditionally("ptrace"))
        #expect(resolved.allowsUnconditionally("clock_settime"))
    }

    @Test func minKernelNeedsAKnownKernel() {
        let unknown = SeccompProfile.dockerDefault.resolved(capabilities: [])
        #expect(!unknown.allowsUnconditionally("ptrace"))
        let old = SeccompProfile.dockerDefault.resolved(capabilities: [], kernelVersion: "4.4.0-210-generic")
        #expect(!old.allowsUnconditionally("ptrace"))
        let new = SeccompProfile.dockerDefault.resolved(capabilities: [], kernelVersion: "6.1.0-18-amd64")
        #expect(new.allowsUnconditionally("ptrace"))
        #expect(new.allowsUnconditionally("process_vm_readv"))
    }

    @Test func otherArchitecturesUseTheirArchMapEntry() {
        let arm = SeccompProfile.dockerDefault.resolved(capabilities: [], architecture: "aarch64")
        #expect(arm.architectures == ["aarch64", "arm"])
        #expect(arm.allowsUnconditionally("cacheflush"))
        #expect(arm.rules(for: "arch_prctl").isEmpty)

        let s390 = SeccompProfile.dockerDefault.resolved(capabilities: [], architecture: "s390x")
        #expect(s390.rules(for: "clone").map(\.args.first?.index) == [1])

        let unknown = SeccompProfile.dockerDefault.resolved(capabilities: [], architecture: "sparc64")
        #expect(unknown.architectures.isEmpty)
    }

    @Test func decodesDockerProfileText() throws {
        let text = """
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "architectures": ["SCMP_ARCH_X86_64"],
              "syscalls": [
                {"name": "chmod", "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": null},
                {"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
                 "includes": {}, "excludes": {"caps": ["CAP_NET_ADMIN"]}, "unknownMember": 1}
              ]
            }
            """
        let profile = try SeccompProfile(json: JSONValue.parse(text))
        #expect(profile.defaultAction == .allow)
        #expect(profile.syscalls[0].names == ["chmod"])
        #expect(profile.syscalls[0].errnoRet == 13)
        #expect(profile.syscalls[1].excludes.caps == ["CAP_NET_ADMIN"])

        let resolved = profile.resolved(capabilities: [])
        #expect(resolved.architectures == ["x86_64"])
        #expect(resolved.rules.map(\.name) == ["chmod", "socket"])
        #expect(profile.resolved(capabilities: ["CAP_NET_ADMIN"]).rules.map(\.name) == ["chmod"])
    }

    @Test func malformedProfilesAreRejectedWithTheField() {
        expectInvalid(#"[]"#, mentioning: ["JSON object"])
        expectInvalid(#"{"syscalls": []}"#, mentioning: ["defaultAction", "required"])
        expectInvalid(#"{"defaultAction": "SCMP_ACT_DENY"}"#, mentioning: ["defaultAction", "SCMP_ACT_DENY"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {"names": ["read"]}}"#,
            mentioning: ["syscalls", "must be an array"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FOO"}]}"#,
            mentioning: ["syscalls[0].action", "SCMP_ACT_FOO"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}"#,
            mentioning: ["syscalls[0].action", "required"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
            mentioning: ["syscalls[0].names"])
        expectInvalid(
            #"""
            {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
              "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}
            """#,
            mentioning: ["syscalls[0].args[0].index"])
        expectInvalid(
            #"""
            {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
              "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}
            """#,
            mentioning: ["syscalls[0].args[0].op", "SCMP_CMP_LIKE"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]}"#,
            mentioning: ["architectures[0]", "SCMP_ARCH_VAX"])
        expectInvalid(
            #"""
            {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
             "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}
            """#,
            mentioning: ["architectures", "archMap"])
        expectInvalid(
            #"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}"#, mentioning: ["defaultErrnoRet"])
        expectInvalid(
            #"""
            {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
              "includes": {"minKernel": "new"}}]}
            """#,
            mentioning: ["syscalls[0].includes.minKernel"])
    }

    @Test func kernelVersionsParseAndCompare() throws {
        let v48 = try #require(SeccompProfile.KernelVersion("4.8"))
        let v6 = try #require(SeccompProfile.KernelVersion("6.1.0-18-amd64"))
        let v410 = try #require(SeccompProfile.KernelVersion("4.10"))
        #expect(v48 < v410)
        #expect(v410 < v6)
        #expect(SeccompProfile.KernelVersion("4") == nil)
        #expect(SeccompProfile.KernelVersion("") == nil)
    }
}
