import BerthCore
import BerthOS
import BerthTestSupport
import Testing

@testable import BerthDaemon

/// `resolvConf` reads the host's /etc/resolv.conf. Each test bind-mounts its own file over it in a private mount
/// namespace of one thread (see `withBindMount`), so the host file is never touched.
struct ResolvConfTests {
    private func resolvConf(
        hostFile: String, host: Bool = false, dns: [String] = [], search: [String] = []
    ) async throws -> String {
        try await withTemporaryDirectory { dir in
            let file = dir + "/resolv.conf"
            try FileSystem.writeFile(file, hostFile)
            return try await withBindMount(file, over: "/etc/resolv.conf") {
                ContainerService.resolvConf(host: host, dns: dns, search: search)
            }
        }
    }

    @Test func loopbackNameserversFallBackToGooglePublicDNS() async throws {
        let text = try await resolvConf(
            hostFile: "# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n")
        #expect(text == "options edns0 trust-ad\nsearch corp.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    }

    @Test func loopbackNameserversAreDroppedOthersKept() async throws {
        let text = try await resolvConf(
            hostFile:
                "nameserver 10.0.0.2\nnameserver 127.0.0.1\n  nameserver ::1\nnameserver 192.168.1.1\ndomain lan\n")
        #expect(text == "domain lan\nnameserver 10.0.0.2\nnameserver 192.168.1.1\n")
    }

    @Test func dnsAndSearchOptionsReplaceTheHosts() async throws {
        let text = try await resolvConf(
            hostFile: "nameserver 10.0.0.2\nsearch corp.example\noptions ndots:2\n", dns: ["1.1.1.1", "9.9.9.9"],
            search: ["a.example", "b.example"])
        #expect(text == "search a.example b.example\noptions ndots:2\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n")
    }

    @Test func hostNetworkKeepsTheHostFileAsItIs() async throws {
        let hostFile = "nameserver 127.0.0.53\n# keep comments\nsearch corp.example\n"
        #expect(try await resolvConf(hostFile: hostFile, host: true) == hostFile)
        // Unless the container asks for its own servers.
        #expect(
            try await resolvConf(hostFile: hostFile, host: true, dns: ["1.1.1.1"])
                == "search corp.example\nnameserver 1.1.1.1\n")
    }

    @Test func emptyHostFileGetsTheFallbacks() async throws {
        #expect(try await resolvConf(hostFile: "") == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    }

    /// The bind mount stays in the test thread's namespace: this process still reads the host's file.
    @Test func hostFileIsUntouched() async throws {
        let before = try FileSystem.readText("/etc/resolv.conf")
        _ = try await resolvConf(hostFile: "nameserver 192.0.2.1\n")
        #expect(try FileSystem.readText("/etc/resolv.conf") == before)
        #expect(ContainerService.resolvConf(host: true, dns: [], search: []) == before)
    }
}
