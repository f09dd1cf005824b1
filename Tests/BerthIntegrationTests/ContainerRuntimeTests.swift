import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// Real containers through a real berthd: namespaces, identity, security, limits.
@Suite(.serialized)
struct ContainerRuntimeTests {
    @Test func pid1HostnameAndNamespaces() async throws {
        try await TestDaemon.with { d in
            let r = try d.run(
                ["sh", "-c", "echo $$; hostname; cat /etc/hostname; ls /sys/class/net"],
                config: [("Hostname", .string("box1"))], host: [("NetworkMode", .string("none"))])
            #expect(r.exitCode == 0)
            #expect(r.stdout == "1\nbox1\nbox1\nlo\n")
            // --network host shares the host's interfaces (and its hostname by default). Links that other
            // tests make and remove meanwhile (veths, bridges) are left out of the comparison.
            func stable(_ names: [String]) -> [String] {
                names.filter { !$0.hasPrefix("veth") && !$0.hasPrefix("bt") && !$0.hasPrefix("br-") }.sorted()
            }
            let hostLinks = stable(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net"))
            let host = try d.run(["ls", "/sys/class/net"], host: [("NetworkMode", .string("host"))])
            #expect(stable(host.stdout.split(separator: "\n").map(String.init)) == hostLinks)
            let mounts = try d.run(["cat", "/proc/mounts"]).stdout
            #expect(mounts.contains("proc /proc proc"))
            #expect(mounts.contains("devpts /dev/pts devpts"))
            #expect(mounts.contains("sysfs /sys sysfs ro"))
            #expect(mounts.contains("/etc/resolv.conf"))
            let devs = try d.run(["ls", "/dev"]).stdout.split(separator: "\n").map(String.init)
            for dev in ["null", "zero", "full", "random", "urandom", "tty", "console", "ptmx", "pts", "shm", "mqueue"] {
                #expect(devs.contains(dev), "missing /dev/\(dev)")
            }
        }
    }

    @Test func userEnvWorkdirFromConfigAndImage() async throws {
        try await TestDaemon.with { d in
            let r = try d.run(
                ["sh", "-c", "id; echo $K; pwd; echo $HOME"],
                config: [
                    ("User", .string("nobody")), ("Env", .strings(["K=v1"])), ("WorkingDir", .string("/tmp/work")),
                ])
            #expect(r.exitCode == 0)
            #expect(
                r.stdout == "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\nv1\n/tmp/work\n/nonexistent\n")
            let numeric = try d.run(["id", "-u"], config: [("User", .string("1234:5678"))])
            #expect(numeric.stdout == "1234\n")
            let unknown = try d.create(["id"], config: [("User", .string("nosuchuser"))])
            let start = try d.client.call("POST", "/containers/\(unknown)/start")
            #expect(start.status >= 400)
            #expect(String(decoding: start.body, as: UTF8.self).contains("unable to find user nosuchuser"))
        }
    }

    @Test func capabilitiesAndSeccomp() async throws {
        try await TestDaemon.with { d in
            let mount = try d.run(["mount", "-t", "tmpfs", "none", "/tmp"])
            #expect(mount.exitCode != 0)
            #expect(mount.stderr.contains("denied") || mount.stderr.contains("not permitted"))
            let unshare = try d.run(["unshare", "-u", "true"])
            #expect(unshare.exitCode != 0)
            #expect(unshare.stderr.contains("Operation not permitted"))
            let caps = try d.run(["sh", "-c", "grep CapEff /proc/self/status"])
            #expect(caps.stdout.contains("00000000a80425fb"))
            let dropped = try d.run(
                ["sh", "-c", "grep CapEff /proc/self/status"], host: [("CapDrop", .strings(["NET_RAW", "CHOWN"]))])
            // CHOWN (bit 0) and NET_RAW (bit 13) dropped from Docker's default a80425fb.
            #expect(dropped.stdout.contains("00000000a80405fa"))
            let chown = try d.run(["chown", "1:1", "/tmp"], host: [("CapDrop", .strings(["CHOWN"]))])
            #expect(chown.exitCode != 0)
            let added = try d.run(
                ["sh", "-c", "mount -t tmpfs none /tmp && echo mounted"], host: [("CapAdd", .strings(["SYS_ADMIN"]))])
            #expect(added.stdout == "mounted\n")
            let privileged = try d.run(
                ["sh", "-c", "mount -t tmpfs none /tmp && unshare -u true && echo ok"],
                host: [("Privileged", .bool(true))])
            #expect(privileged.stdout == "ok\n")
            // Privileged containers see the host's device nodes; others only the minimal set.
            if let device = ["loop-control", "kmsg", "fuse", "mem"].first(where: {
                FileManager.default.fileExists(atPath: "/dev/" + $0)
            }) {
                let seen = try d.run(["ls", "/dev/" + device], host: [("Privileged", .bool(true))])
                #expect(seen.exitCode == 0, "/dev/\(device) must be visible to a privileged container")
                #expect(try d.run(["ls", "/dev/" + device]).exitCode != 0)
            }
            // seccomp=unconfined lifts the filter but not the capability check.
            let unconfined = try d.run(
                ["sh", "-c", "grep Seccomp: /proc/self/status"],
                host: [("SecurityOpt", .strings(["seccomp=unconfined"]))])
            #expect(unconfined.stdout.contains("Seccomp:\t0"))
            let filtered = try d.run(["sh", "-c", "grep Seccomp: /proc/self/status"])
            #expect(filtered.stdout.contains("Seccomp:\t2"))
            let nnp = try d.run(
                ["sh", "-c", "grep NoNewPrivs /proc/self/status"],
                host: [("SecurityOpt", .strings(["no-new-privileges"]))])
            #expect(nnp.stdout.contains("NoNewPrivs:\t1"))
            // A custom profile that denies mkdir with EPERM.
            let profile =
                #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#
            let custom = try d.run(["mkdir", "/tmp/x"], host: [("SecurityOpt", .strings(["seccomp=" + profile]))])
            #expect(custom.exitCode != 0)
            #expect(custom.stderr.contains("Operation not permitted"))
        }
    }

    @Test func memoryLimitOOMKill() async throws {
        try await TestDaemon.with { d in
            let r = try d.run(
                ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                host: [("Memory", .int(32 * 1024 * 1024))])
            #expect(r.exitCode == 137)
            #expect(r.inspect["State"]?["OOMKilled"]?.boolValue == true)
        }
    }

    @Test func pidsCpuLimitsAndCgroupCleanup() async throws {
        try await TestDaemon.with { d in
            let r = try d.run(
                ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait"],
                host: [("PidsLimit", .int(8))])
            #expect(
                r.exitCode != 0 || r.stderr.contains("can't fork")
                    || r.stderr.contains("Resource temporarily unavailable"))
            let id = try d.create(
                ["sleep", "30"],
                host: [
                    ("NanoCpus", .int(500_000_000)), ("CpuShares", .int(512)), ("CpusetCpus", .string("0")),
                    ("Memory", .int(64 << 20)), ("PidsLimit", .int(50)),
                ])
            try d.client.checked("POST", "/containers/\(id)/start")
            let cg = "berth/\(id)"
            #expect(
                try String(contentsOfFile: "/sys/fs/cgroup/cpu/\(cg)/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpu/\(cg)/cpu.shares", encoding: .utf8) == "512\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpuset/\(cg)/cpuset.cpus", encoding: .utf8) == "0\n")
            #expect(
                try String(contentsOfFile: "/sys/fs/cgroup/memory/\(cg)/memory.limit_in_bytes", encoding: .utf8)
                    == "\(64 << 20)\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/pids/\(cg)/pids.max", encoding: .utf8) == "50\n")
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
            #expect(!cgroupExists(id))
            #expect(!FileManager.default.fileExists(atPath: "\(d.root)/run/containers/\(id)"))
        }
    }

    @Test func bindMountsAndTmpfs() async throws {
        try await TestDaemon.with { d in
            let dir = d.root + "/shared"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data("host-data\n".utf8).write(to: URL(fileURLWithPath: dir + "/in"))
            let r = try d.run(
                ["sh", "-c", "cat /data/in; touch /data/x 2>&1; mount | grep -c ' /scratch type tmpfs'"],
                host: [("Binds", .strings(["\(dir):/data:ro"])), ("Tmpfs", .object([("/scratch", .string(""))]))])
            #expect(r.stdout.hasPrefix("host-data\n"))
            #expect(r.stdout.contains("Read-only file system"))
            #expect(r.stdout.hasSuffix("1\n"))
            let mounts = r.inspect["Mounts"]?.arrayValue ?? []
            #expect(mounts.count == 1)
            #expect(mounts.first?["Source"]?.stringValue == dir && mounts.first?["Destination"]?.stringValue == "/data")
            #expect(mounts.first?["RW"]?.boolValue == false)
            #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        }
    }

    @Test func readOnlyRootAndMaskedPaths() async throws {
        try await TestDaemon.with { d in
            let r = try d.run(["touch", "/x"], host: [("ReadonlyRootfs", .bool(true))])
            #expect(r.exitCode != 0)
            #expect(r.stderr.contains("Read-only file system"))
            let writableTmp = try d.run(["touch", "/tmp/x"])
            #expect(writableTmp.exitCode == 0)
            let sys = try d.run(["sh", "-c", "echo 1 > /proc/sys/kernel/shmmax"])
            #expect(sys.exitCode != 0)
            let masked = try d.run(["sh", "-c", "wc -c < /proc/interrupts"])
            #expect(masked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
    }

    @Test func exitCodesLikeDocker() async throws {
        try await TestDaemon.with { d in
            #expect(try d.run(["sh", "-c", "exit 3"]).exitCode == 3)
            let missing = try d.create(["/no/such/cmd"])
            let start = try d.client.call("POST", "/containers/\(missing)/start")
            #expect(start.status == 400)
            #expect(String(decoding: start.body, as: UTF8.self).contains("no such file or directory"))
            let inspect = try d.client.checked("GET", "/containers/\(missing)/json").json
            #expect(inspect?["State"]?["ExitCode"]?.intValue == 127)
            let notInPath = try d.create(["nosuchcommand"])
            let s2 = try d.client.call("POST", "/containers/\(notInPath)/start")
            #expect(String(decoding: s2.body, as: UTF8.self).contains("executable file not found in $PATH"))
            let notExec = try d.create(["/etc/passwd"])
            let s3 = try d.client.call("POST", "/containers/\(notExec)/start")
            #expect(s3.status == 400)
            #expect(String(decoding: s3.body, as: UTF8.self).contains("permission denied"))
            #expect(
                try d.client.checked("GET", "/containers/\(notExec)/json").json?["State"]?["ExitCode"]?.intValue == 126)
            // A signal death is 128+n (PID 1 ignores signals from inside its namespace, so the API sends it).
            let sleeper = try d.create(["sleep", "30"])
            try d.client.checked("POST", "/containers/\(sleeper)/start")
            try d.client.checked("POST", "/containers/\(sleeper)/kill", query: [("signal", "KILL")])
            #expect(try d.client.checked("POST", "/containers/\(sleeper)/wait").json?["StatusCode"]?.intValue == 137)
        }
    }

    @Test func rlimitAboveHostHardLimitIsAClearError() async throws {
        try await TestDaemon.with { d in
            var hard = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &hard)
            let ok = try d.run(
                ["sh", "-c", "ulimit -n"],
                host: [
                    (
                        "Ulimits",
                        .array([.object([("Name", .string("nofile")), ("Soft", .int(256)), ("Hard", .int(512))])])
                    )
                ])
            #expect(ok.stdout == "256\n")
            guard hard.rlim_max != rlim_t.max else { return }
            let id = try d.create(
                ["true"],
                host: [
                    (
                        "Ulimits",
                        .array([
                            .object([
                                ("Name", .string("nofile")), ("Soft", .int(Int(hard.rlim_max) * 4)),
                                ("Hard", .int(Int(hard.rlim_max) * 4)),
                            ])
                        ])
                    )
                ])
            let r = try d.client.call("POST", "/containers/\(id)/start")
            #expect(r.status >= 400)
            #expect(String(decoding: r.body, as: UTF8.self).contains("RLIMIT_NOFILE"))
            #expect(try d.client.call("GET", "/_ping").status == 200)
        }
    }
}
