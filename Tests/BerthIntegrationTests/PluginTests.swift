import BerthAPIClient
import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// A plugin process on a socket in the test daemon's plugin directory, killed at the end.
final class PluginProcess {
    let process = Process()
    let socket: String

    /// Runs `script` (a path in the repository) with `args`; waits for `socket` to appear.
    init(_ script: String, _ args: [String], socket: String) throws {
        self.socket = socket
        // A socket file left by a killed plugin would look like the new one listening.
        unlink(socket)
        process.executableURL = URL(fileURLWithPath: TestDaemon.repoRoot + "/" + script)
        process.arguments = args
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<100 {
            if FileManager.default.fileExists(atPath: socket) { return }
            usleep(30_000)
        }
        stop()
        throw TestFailure("\(script) did not start")
    }

    func stop() {
        if process.isRunning {
            // SIGKILL: a child started from a test thread inherits its blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Operator plugins through Docker's plugin protocol: the Python volume plugin of plugins/volume-dir serving
/// real containers, and plugins that are down, slow, answer nonsense, crash or implement something else.
@Suite(.serialized)
struct PluginTests {
    /// A daemon whose plugin directory is `<root>/plugins`, with a 2 s call timeout.
    static func withDaemon(_ body: (TestDaemon, String) throws -> Void) async throws {
        let d = try TestDaemon()
        defer { d.cleanUp() }
        let dir = d.root + "/plugins"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try d.writeConfig("plugins = { dirs = { \"\(dir)\" }, timeout = 2 },")
        try d.start()
        _ = try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        try body(d, dir)
    }

    static func dirvol(_ d: TestDaemon, _ dir: String) throws -> PluginProcess {
        try PluginProcess(
            "plugins/volume-dir/berth-volume-dir.py",
            ["--socket", dir + "/dirvol.sock", "--root", d.root + "/dirvol-data"], socket: dir + "/dirvol.sock")
    }

    @Test func aPythonVolumePluginServesContainers() async throws {
        try await Self.withDaemon { d, dir in
            var plugin = try Self.dirvol(d, dir)
            defer { plugin.stop() }
            var r = try CLITests.berth(d, ["plugin", "ls"])
            #expect(r.status == 0 && r.stdout.contains("dirvol"), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("VolumeDriver") && r.stdout.contains("active"), "\(r.stdout)")

            r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "-o", "mode=0777", "data"])
            #expect(r.status == 0 && r.stdout == "data\n", "\(r.stderr)")
            r = try CLITests.berth(d, ["volume", "ls"])
            #expect(r.stdout.contains("dirvol") && r.stdout.contains("data"), "\(r.stdout)")
            r = try CLITests.berth(d, ["volume", "inspect", "-f", "{{.Driver}} {{.Mountpoint}}", "data"])
            #expect(r.stdout == "dirvol \(d.root)/dirvol-data/data\n", "\(r.stdout) \(r.stderr)")
            r = try CLITests.berth(
                d, ["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect((try? String(contentsOfFile: d.root + "/dirvol-data/data/f", encoding: .utf8)) == "kept\n")
            // A volume made on first use with --volume-driver, and one with --mount's volume-driver.
            r = try CLITests.berth(
                d,
                ["run", "--rm", "-v", "made:/m", "--volume-driver", "dirvol", "busybox", "sh", "-c", "echo m > /m/x"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: d.root + "/dirvol-data/made/x"))
            r = try CLITests.berth(
                d,
                [
                    "run", "--rm", "--mount", "type=volume,src=mounted,dst=/v,volume-driver=dirvol", "busybox", "touch",
                    "/v/y",
                ])
            #expect(r.status == 0 && FileManager.default.fileExists(atPath: d.root + "/dirvol-data/mounted/y"))
            let info = try d.client.checked("GET", "/info").json
            #expect(info?["Plugins"]?["Volume"]?.stringArray?.contains("dirvol") == true)

            // The plugin's own errors reach the user with its name.
            r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "-o", "bogus=1", "bad"])
            #expect(
                r.status != 0 && r.stderr.contains("plugin \"dirvol\"") && r.stderr.contains("bogus"), "\(r.stderr)")
            #expect(try d.client.call("GET", "/volumes/bad").status == 404)

            // Restarted, the plugin is activated again at its next use.
            plugin.stop()
            r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "while-down"])
            #expect(r.status != 0 && r.stderr.contains("plugin \"dirvol\" is not reachable"), "\(r.stderr)")
            #expect(try d.client.call("GET", "/volumes/while-down").status == 404)
            plugin = try Self.dirvol(d, dir)
            r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "after-restart"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["volume", "rm", "data"])
            #expect(
                r.status == 0 && !FileManager.default.fileExists(atPath: d.root + "/dirvol-data/data"), "\(r.stderr)")
        }
    }

    /// A plugin behind TLS, found by a `NAME.json` with its `TLSConfig`: Berth verifies it with the CA and
    /// presents its client certificate; without one the plugin's TLS front refuses it.
    @Test func aPluginIsReachedOverTLS() async throws {
        try await Self.withDaemon { d, dir in
            let privateDir = d.root + "/private"
            try FileManager.default.createDirectory(atPath: privateDir, withIntermediateDirectories: true)
            let plugin = try PluginProcess(
                "plugins/volume-dir/berth-volume-dir.py",
                ["--socket", privateDir + "/dirvol.sock", "--root", d.root + "/tls-data"],
                socket: privateDir + "/dirvol.sock")
            defer { plugin.stop() }
            let pki = try TestPKI(in: d.root + "/pki")
            let portFile = d.root + "/tls-port"
            let front = try PluginProcess(
                "Tests/Fixtures/tls-forward.py",
                [portFile, pki.serverCert, pki.serverKey, pki.caCert, privateDir + "/dirvol.sock"], socket: portFile)
            defer { front.stop() }
            let port = try String(contentsOfFile: portFile, encoding: .utf8)
            func spec(_ name: String, _ tls: String) throws {
                try #"{"Name":"\#(name)","Addr":"https://127.0.0.1:\#(port)","TLSConfig":{\#(tls)}}"#
                    .write(toFile: "\(dir)/\(name).json", atomically: true, encoding: .utf8)
            }
            try spec(
                "tlsvol", #""CAFile":"\#(pki.caCert)","CertFile":"\#(pki.clientCert)","KeyFile":"\#(pki.clientKey)""#)
            try spec("nocert", #""CAFile":"\#(pki.caCert)""#)
            try spec("noca", #""CertFile":"\#(pki.clientCert)","KeyFile":"\#(pki.clientKey)""#)
            try spec(
                "skipverify",
                #""InsecureSkipVerify":true,"CertFile":"\#(pki.clientCert)","KeyFile":"\#(pki.clientKey)""#)

            var r = try CLITests.berth(d, ["volume", "create", "-d", "tlsvol", "secure"])
            #expect(r.status == 0, "\(r.stderr)")
            r = try CLITests.berth(d, ["run", "--rm", "-v", "secure:/s", "busybox", "sh", "-c", "echo tls > /s/f"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect((try? String(contentsOfFile: d.root + "/tls-data/secure/f", encoding: .utf8)) == "tls\n")
            r = try CLITests.berth(d, ["volume", "create", "-d", "skipverify", "unverified"])
            #expect(r.status == 0, "\(r.stderr)")
            for name in ["nocert", "noca"] {
                r = try CLITests.berth(d, ["volume", "create", "-d", name, "refused-\(name)"])
                #expect(
                    r.status != 0 && r.stderr.contains("plugin \"\(name)\" is not reachable"), "\(name): \(r.stderr)")
            }
            r = try CLITests.berth(d, ["plugin", "ls"])
            #expect(r.stdout.contains("https://127.0.0.1:\(port)"), "\(r.stdout)")
        }
    }

    @Test func misbehavingPluginsAreErrorsAndTheDaemonStaysUp() async throws {
        try await Self.withDaemon { d, dir in
            var plugins: [PluginProcess] = []
            defer { plugins.forEach { $0.stop() } }
            for mode in ["slow", "badjson", "crash", "network"] {
                plugins.append(
                    try PluginProcess(
                        "Tests/Fixtures/bad-plugin.py", [dir + "/\(mode).sock", mode], socket: dir + "/\(mode).sock"))
            }
            let cases = [
                ("slow", "plugin \"slow\" did not answer VolumeDriver.Create within 2s"),
                ("badjson", "plugin \"badjson\" answered VolumeDriver.Create with malformed JSON"),
                ("crash", "plugin \"crash\""),
                ("network", "plugin \"network\" does not implement VolumeDriver"),
                ("nosuch", "plugin \"nosuch\" not found"),
            ]
            for (name, message) in cases {
                let r = try CLITests.berth(d, ["volume", "create", "-d", name, "v-\(name)"])
                #expect(r.status != 0 && r.stderr.contains(message), "\(name): \(r.stderr)")
                #expect(try d.client.call("GET", "/volumes/v-\(name)").status == 404)
                #expect(try d.client.call("GET", "/_ping").status == 200)
            }
            // A container whose volume's plugin fails is not left half-made.
            let r = try CLITests.berth(
                d, ["run", "--rm", "-v", "xv:/x", "--volume-driver", "badjson", "busybox", "true"])
            #expect(r.status != 0 && r.stderr.contains("badjson"), "\(r.stderr)")
            #expect(
                try d.client.checked("GET", "/containers/json", query: [("all", "1")]).json?.arrayValue?.isEmpty == true
            )
            let list = try CLITests.berth(d, ["plugin", "ls"])
            #expect(list.stdout.contains("network") && list.stdout.contains("NetworkDriver"), "\(list.stdout)")
        }
    }

    /// A plugin named in config.lua's `plugins.run` is started with the daemon, its output lands in the daemon's
    /// log, it is started again when it dies, and it stops with the daemon.
    @Test func theDaemonSupervisesPluginExecutables() async throws {
        let d = try TestDaemon()
        defer { d.cleanUp() }
        let dir = d.root + "/plugins"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = TestDaemon.repoRoot + "/plugins/volume-dir/berth-volume-dir.py"
        try d.writeConfig(
            """
            plugins = { dirs = { "\(dir)" }, timeout = 2, run = {
              dirvol = { "/usr/bin/python3", "\(script)", "--socket", "\(dir)/dirvol.sock", "--root", "\(d.root)/sv-data" },
            } },
            """)
        try d.start()
        func waitFor(_ what: String, _ condition: () -> Bool) throws {
            for _ in 0..<100 {
                if condition() { return }
                usleep(50_000)
            }
            throw TestFailure("timed out waiting for \(what)")
        }
        let socket = dir + "/dirvol.sock"
        try waitFor("the plugin's socket") { FileManager.default.fileExists(atPath: socket) }
        var r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "first"])
        #expect(r.status == 0, "\(r.stderr)")
        let log = { (try? String(contentsOfFile: d.root + "/berthd.log", encoding: .utf8)) ?? "" }
        try waitFor("the plugin's output in the daemon's log") { log().contains("berth-volume-dir serving") }
        #expect(log().contains("plugin started"))

        // Killed, it is started again (its socket comes back) and berthd activates it again.
        let pids = try run("/usr/bin/pgrep", ["-f", d.root + "/sv-data"]).output.split(separator: "\n")
        try #require(!pids.isEmpty)
        for pid in pids { kill(pid_t(pid) ?? 0, SIGKILL) }
        try waitFor("the restart") { log().contains("plugin exited; restarting") }
        // The killed plugin's socket file stays; the new one says when it serves (after binding).
        try waitFor("the plugin serving again") { log().components(separatedBy: "berth-volume-dir serving").count >= 3 }
        r = try CLITests.berth(d, ["volume", "create", "-d", "dirvol", "second"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: d.root + "/sv-data/second"))

        d.stop()
        try waitFor("the plugin to stop with the daemon") {
            (try? run("/usr/bin/pgrep", ["-f", d.root + "/sv-data"]))?.status == 1
        }
    }
}
