import BerthAPIClient
import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// Network, IPAM and storage driver plugins: the Python examples of plugins/net-veth and plugins/storage-copy
/// serving real containers, and plugins that misbehave.
@Suite(.serialized)
struct PluginDriverTests {
    /// plugins/net-veth as `name`; `hostLinks`: it makes the container's end on the host, as for Docker, so
    /// berthd moves it in (otherwise it takes Berth's offer and makes it inside the sandbox).
    static func vethnet(_ d: TestDaemon, _ dir: String, name: String = "vethnet", hostLinks: Bool = false) throws
        -> PluginProcess
    {
        try PluginProcess(
            "plugins/net-veth/berth-net-veth.py",
            ["--socket", dir + "/\(name).sock", "--state-dir", d.root + "/\(name)-state"]
                + (hostLinks ? ["--host-links"] : []),
            socket: dir + "/\(name).sock")
    }

    /// The host's links whose names start with `prefix`.
    static func links(_ prefix: String) throws -> [String] {
        try run("/usr/sbin/ip", ["-o", "link", "show"]).output.split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? ""
            let bare = String(name.split(separator: "@").first ?? "")
            return bare.hasPrefix(prefix) ? bare : nil
        }
    }

    @Test func containersRunOnAPluginNetwork() async throws {
        try await PluginTests.withDaemon { d, dir in
            var plugin = try Self.vethnet(d, dir)
            defer { plugin.stop() }
            // Berth's IPAM on the plugin's network.
            var r = try CLITests.berth(
                d, ["network", "create", "-d", "vethnet", "--subnet", "10.213.77.0/24", "-o", "mtu=1400", "pn1"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(
                d,
                [
                    "network", "inspect", "-f",
                    "{{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Options.mtu}}",
                    "pn1",
                ])
            #expect(r.stdout == "vethnet default 10.213.77.0/24 10.213.77.1 1400\n", "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(
                d,
                [
                    "run", "--rm", "--network", "pn1", "busybox", "sh", "-c",
                    "ip -4 -o addr show eth0; ip route; cat /sys/class/net/eth0/mtu; ping -c1 -W2 10.213.77.1 >/dev/null && echo gateway-ok",
                ])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("inet 10.213.77.2/24"), "\(r.stdout)")
            #expect(r.stdout.contains("default via 10.213.77.1 dev eth0"), "\(r.stdout)")
            #expect(r.stdout.contains("1400\ngateway-ok"), "\(r.stdout)")

            // The host reaches a container's server through the plugin's routes; --ip is honoured.
            r = try CLITests.berth(
                d,
                [
                    "run", "-d", "--name", "web", "--network", "pn1", "--ip", "10.213.77.50", "busybox", "httpd", "-f",
                    "-p", "8080", "-h", "/etc",
                ])
            #expect(r.status == 0, "\(r.stderr)")
            var served = ""
            for _ in 0..<50 {
                served = try run("/usr/bin/curl", ["-s", "-m", "2", "http://10.213.77.50:8080/hostname"]).output
                if !served.isEmpty { break }
                usleep(50_000)
            }
            let hostname = try CLITests.berth(d, ["inspect", "-f", "{{.Config.Hostname}}", "web"]).stdout
            #expect(served == hostname && !served.isEmpty, "\(served) vs \(hostname)")
            // The container's namespace is the SandboxKey the plugin got, bind-mounted while it runs.
            let webID = try CLITests.berth(d, ["inspect", "-f", "{{.Id}}", "web"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
            let sandbox = d.root + "/run/netns/" + webID
            let pid = try CLITests.berth(d, ["inspect", "-f", "{{.State.Pid}}", "web"]).stdout.trimmingCharacters(
                in: .whitespacesAndNewlines)
            var sandboxStat = stat()
            var containerStat = stat()
            #expect(stat(sandbox, &sandboxStat) == 0 && stat("/proc/\(pid)/ns/net", &containerStat) == 0)
            #expect(sandboxStat.st_ino == containerStat.st_ino, "the container is in its sandbox")
            r = try CLITests.berth(d, ["inspect", "-f", "{{.NetworkSettings.Networks.pn1.IPAddress}}", "web"])
            #expect(r.stdout == "10.213.77.50\n", "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "--network", "pn1", "--ip", "10.213.77.50", "busybox", "true"])
            #expect(r.status != 0 && r.stderr.contains("10.213.77.50"), "\(r.stderr)")
            r = try CLITests.berth(d, ["rm", "-f", "web"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: sandbox), "the sandbox goes with the container")

            // A plugin that makes the container's end on the host, as Docker's protocol has it: berthd moves it.
            let hostLinks = try Self.vethnet(d, dir, name: "hostveth", hostLinks: true)
            defer { hostLinks.stop() }
            r = try CLITests.berth(
                d,
                [
                    "network", "create", "-d", "hostveth", "--subnet", "10.213.78.0/24", "--gateway", "10.213.78.9",
                    "pnh",
                ])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(
                d,
                [
                    "run", "--rm", "--network", "pnh", "--mac-address", "02:42:0a:d5:4e:63", "busybox", "sh", "-c",
                    "ip -4 -o addr show eth0; ip route; cat /sys/class/net/eth0/address; ping -c1 -W2 10.213.78.9 >/dev/null && echo gateway-ok",
                ])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(
                r.stdout.contains("inet 10.213.78.1/24") && r.stdout.contains("default via 10.213.78.9"), "\(r.stdout)")
            #expect(r.stdout.contains("02:42:0a:d5:4e:63\ngateway-ok"), "\(r.stdout)")
            r = try CLITests.berth(d, ["network", "rm", "pnh"])
            #expect(r.status == 0, "\(r.stderr)")

            // network connect: a created container gets the plugin's interface at its start (moved into the
            // namespace the shim makes), a running one at once; disconnect takes it away.
            r = try CLITests.berth(d, ["create", "--name", "cx", "busybox", "ip", "-4", "-o", "addr"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["network", "connect", "pn1", "cx"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["start", "-a", "cx"])
            #expect(
                r.status == 0 && r.stdout.contains("eth1") && r.stdout.contains("inet 10.213.77."),
                "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["run", "-d", "--name", "live", "busybox", "sleep", "60"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["network", "connect", "--ip", "10.213.77.60", "pn1", "live"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["exec", "live", "ip", "-4", "-o", "addr", "show", "eth1"])
            #expect(r.stdout.contains("inet 10.213.77.60/24"), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["exec", "live", "ping", "-c1", "-W2", "10.213.77.1"])
            #expect(r.status == 0, "the plugin's gateway answers on the connected network: \(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["network", "disconnect", "pn1", "live"])
            #expect(r.status == 0, "\(r.stderr)")
            var gone = false
            for _ in 0..<40 where !gone {
                gone = try CLITests.berth(d, ["exec", "live", "ip", "link", "show", "eth1"]).status != 0
                if !gone { usleep(50_000) }
            }
            #expect(gone, "eth1 went with the disconnect")
            for name in ["cx", "live"] { _ = try CLITests.berth(d, ["rm", "-f", name]) }

            // An IPAM plugin: the plugin chooses the pool and the addresses.
            r = try CLITests.berth(d, ["network", "create", "-d", "vethnet", "--ipam-driver", "vethnet", "pn2"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(
                d, ["network", "inspect", "-f", "{{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", "pn2"])
            let subnet = r.stdout.split(separator: " ").last.map { String($0.dropLast()) } ?? ""
            #expect(r.stdout.hasPrefix("vethnet 10.213."), "\(r.stdout)")
            r = try CLITests.berth(
                d, ["run", "--rm", "--network", "pn2", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"])
            let prefix = subnet.split(separator: ".").prefix(3).joined(separator: ".") + "."
            #expect(r.status == 0 && r.stdout.contains("inet " + prefix), "\(r.stdout) \(r.stderr) \(subnet)")
            r = try CLITests.berth(d, ["network", "create", "--ipam-driver", "vethnet", "brnet"])
            #expect(r.status != 0 && r.stderr.contains("--ipam-driver"), "\(r.stderr)")
            r = try CLITests.berth(d, ["network", "connect", "pn1", "missing-container"])
            #expect(r.status != 0 && r.stderr.contains("missing-container"), "\(r.stderr)")

            // The plugin's own errors, and a plugin that is down: errors that name it, nothing half-made.
            r = try CLITests.berth(d, ["network", "create", "-d", "vethnet", "-o", "bogus=1", "pn3"])
            #expect(
                r.status != 0 && r.stderr.contains("plugin \"vethnet\"") && r.stderr.contains("bogus"), "\(r.stderr)")
            #expect(try d.client.call("GET", "/networks/pn3").status == 404)
            plugin.stop()
            r = try CLITests.berth(d, ["run", "--name", "down", "--network", "pn1", "busybox", "true"])
            #expect(r.status != 0 && r.stderr.contains("plugin \"vethnet\" is not reachable"), "\(r.stderr)")
            r = try CLITests.berth(
                d, ["inspect", "-f", "{{.State.Status}} {{.NetworkSettings.Networks.pn1.IPAddress}}", "down"])
            #expect(r.stdout == "created \n", "\(r.stdout) \(r.stderr)")
            #expect(try d.client.call("GET", "/_ping").status == 200)
            r = try CLITests.berth(d, ["network", "rm", "pn1"])
            #expect(r.status != 0 && r.stderr.contains("vethnet"), "\(r.stderr)")

            // Restarted, the plugin is activated again; it still knows its networks (its own state).
            plugin = try Self.vethnet(d, dir)
            r = try CLITests.berth(d, ["start", "-a", "down"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(
                d, ["run", "--rm", "--network", "pn1", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"])
            #expect(r.status == 0 && r.stdout.contains("inet 10.213.77."), "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(d, ["rm", "down"])
            #expect(r.status == 0, "\(r.stderr)")
            for name in ["pn1", "pn2"] {
                r = try CLITests.berth(d, ["network", "rm", name])
                #expect(r.status == 0, "\(name): \(r.stderr)")
            }
            // Every interface the plugin made went with its container.
            for _ in 0..<40 where !(try Self.links("bnv")).isEmpty { usleep(50_000) }
            #expect(try Self.links("bnv").isEmpty && Self.links("bnc").isEmpty)
        }
    }

    @Test func misbehavingNetworkPluginsAreErrors() async throws {
        try await PluginTests.withDaemon { d, dir in
            var plugins: [PluginProcess] = []
            defer { plugins.forEach { $0.stop() } }
            for mode in ["slow", "badjson", "crash"] {
                plugins.append(
                    try PluginProcess(
                        "Tests/Fixtures/bad-plugin.py", [dir + "/n\(mode).sock", mode, "NetworkDriver"],
                        socket: dir + "/n\(mode).sock"))
            }
            plugins.append(
                try PluginProcess(
                    "Tests/Fixtures/bad-plugin.py", [dir + "/ipamjson.sock", "badjson", "IpamDriver"],
                    socket: dir + "/ipamjson.sock"))
            let cases = [
                (["-d", "nslow"], "plugin \"nslow\" did not answer NetworkDriver.CreateNetwork within 2s"),
                (["-d", "nbadjson"], "plugin \"nbadjson\" answered NetworkDriver.CreateNetwork with malformed JSON"),
                (["-d", "ncrash"], "plugin \"ncrash\""),
                (["-d", "nosuch"], "plugin \"nosuch\" not found"),
                (["-d", "nbadjson", "--ipam-driver", "ipamjson"], "plugin \"ipamjson\" answered IpamDriver"),
            ]
            for (args, message) in cases {
                let r = try CLITests.berth(d, ["network", "create"] + args + ["badnet"])
                #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
                #expect(try d.client.call("GET", "/networks/badnet").status == 404)
                #expect(try d.client.call("GET", "/_ping").status == 200)
            }
        }
    }

    /// berthd with a storage plugin as its storage driver: started by the daemon itself from config.lua,
    /// holding images and containers through restarts.
    @Test func aStoragePluginHoldsImagesAndContainers() async throws {
        let d = try TestDaemon(storageDriver: "copyfs")
        defer { d.cleanUp() }
        let dir = d.root + "/plugins"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = TestDaemon.repoRoot + "/plugins/storage-copy/berth-storage-copy.py"
        try d.writeConfig(
            """
            plugins = { dirs = { "\(dir)" }, run = {
              copyfs = { "/usr/bin/python3", "\(script)", "--socket", "\(dir)/copyfs.sock" },
            } },
            """)
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        let info = try d.client.checked("GET", "/info").json
        #expect(info?["Driver"]?.stringValue == "copyfs")
        let status = info?["DriverStatus"]?.arrayValue?.compactMap { $0.stringArray?.first } ?? []
        #expect(status.contains("Plugin"), "\(status)")

        let layers = d.root + "/lib/storage/copyfs/layers"
        let before = (try? FileManager.default.contentsOfDirectory(atPath: layers))?.count ?? 0
        #expect(before >= 1, "the image's layer is the plugin's")
        var r = try CLITests.berth(
            d, ["run", "--name", "c1", "busybox", "sh", "-c", "echo kept > /f; rm -f /etc/group"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLITests.berth(d, ["diff", "c1"])
        #expect(r.stdout.contains("A /f") && r.stdout.contains("D /etc/group"), "\(r.stdout) \(r.stderr)")
        r = try CLITests.berth(d, ["cp", "c1:/f", d.root + "/f-out"])
        #expect(r.status == 0 && (try? String(contentsOfFile: d.root + "/f-out", encoding: .utf8)) == "kept\n")
        r = try CLITests.berth(d, ["commit", "c1", "committed:1"])
        #expect(r.status == 0, "\(r.stderr)")

        // The daemon restarts (and with it the plugin it supervises); images and containers are still there.
        d.stop()
        try d.start()
        r = try CLITests.berth(d, ["run", "--rm", "committed:1", "sh", "-c", "cat /f; ls /etc/group || echo gone"])
        #expect(r.stdout == "kept\ngone\n", "\(r.stdout) \(r.stderr)")
        r = try CLITests.berth(d, ["start", "-a", "c1"])
        #expect(r.status == 0, "\(r.stderr)")

        // The plugin dies: berthd starts it again, activates it at the next call and sends Init again first.
        let pids = try run("/usr/bin/pgrep", ["-f", dir + "/copyfs.sock"]).output.split(separator: "\n")
        try #require(!pids.isEmpty)
        for pid in pids { kill(pid_t(pid) ?? 0, SIGKILL) }
        for _ in 0..<100 where d.log().components(separatedBy: "berth-storage-copy: serving").count < 4 {
            usleep(50_000)
        }
        r = try CLITests.berth(d, ["run", "--rm", "committed:1", "cat", "/f"])
        #expect(r.status == 0 && r.stdout == "kept\n", "\(r.stdout) \(r.stderr)")
        r = try CLITests.berth(d, ["rm", "c1"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try CLITests.berth(d, ["rmi", "committed:1"])
        #expect(r.status == 0, "\(r.stderr)")
        let after = (try? FileManager.default.contentsOfDirectory(atPath: layers))?.count ?? -1
        #expect(after == before, "layers of removed containers and images are gone: \(before) then \(after)")
    }

    /// Each example plugin's own test (plugins/*/test-plugin.sh): the protocol driven with curl, results checked
    /// on disk and in the kernel, everything removed after.
    @Test(arguments: [
        "plugins/net-veth/test-plugin.sh", "plugins/storage-copy/test-plugin.sh", "plugins/volume-dir/test-plugin.sh",
    ])
    func anExamplePluginPassesItsOwnTest(_ script: String) throws {
        let args = script.contains("net-veth") ? ["3"] : []
        let r = try runUnblocked("/bin/bash", [TestDaemon.repoRoot + "/" + script] + args)
        #expect(r.status == 0, "\(script): \(r.output.suffix(3000))")
    }

    @Test func aStorageDriverThatIsMissingOrBrokenStopsTheDaemon() async throws {
        let d = try TestDaemon(storageDriver: "nosuchfs")
        defer { d.cleanUp() }
        let dir = d.root + "/plugins"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try d.writeConfig("plugins = { dirs = { \"\(dir)\" }, timeout = 2 },")
        #expect(throws: (any Error).self) { try d.start() }
        #expect(d.log().contains("unknown storage driver \"nosuchfs\""), "\(d.log())")

        let bad = try PluginProcess(
            "Tests/Fixtures/bad-plugin.py", [dir + "/badfs.sock", "badjson", "GraphDriver"], socket: dir + "/badfs.sock"
        )
        defer { bad.stop() }
        let d2 = try TestDaemon(storageDriver: "badfs")
        defer { d2.cleanUp() }
        try d2.writeConfig("plugins = { dirs = { \"\(dir)\" }, timeout = 2 },")
        #expect(throws: (any Error).self) { try d2.start() }
        #expect(d2.log().contains("plugin \"badfs\" answered GraphDriver.Init with malformed JSON"), "\(d2.log())")
    }
}
