import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// A real `berthd` on a temporary root, exec-root and socket, with the busybox image imported. Containers run
/// on the real kernel. Everything the daemon made is removed afterwards (containers, cgroups, dirs).
final class TestDaemon: @unchecked Sendable {
    let root: String
    let storageDriver: String
    var process: Process?
    var client: APIClient

    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the built executables (next to the test bundle).
    static let binDir: String = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0])
        var dir = exe.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("berthd").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("berthd").path) { return dir.path }
        return repoRoot + "/.build/debug"
    }()

    /// Makes the busybox image tar with contrib/mkimage-busybox.sh (inside the daemon's temporary root, so it
    /// goes with it).
    /// `extra`: more files for the image, as `SRC:DEST`.
    func makeBusyboxTar(name: String = "busybox", extra: [String] = []) throws -> String {
        let path = root + "/\(name).tar"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.repoRoot + "/contrib/mkimage-busybox.sh")
        p.arguments = [path] + extra
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("contrib/mkimage-busybox.sh failed") }
        return path
    }

    /// Compiles a C helper of Tests/Fixtures statically (so it runs in the busybox image) into the root.
    func compileFixture(_ name: String) throws -> String {
        let out = root + "/" + name
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        p.arguments = ["-static", "-Os", "-Wall", "-o", out, Self.repoRoot + "/Tests/Fixtures/\(name).c"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("cc Tests/Fixtures/\(name).c failed") }
        return out
    }

    init(storageDriver: String = "overlay") throws {
        root = "/var/tmp/berth-it-" + UUID().uuidString.prefix(8).lowercased()
        self.storageDriver = storageDriver
        client = APIClient(host: "unix://\(root)/run/berth.sock")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    var socketPath: String { "\(root)/run/berth.sock" }
    var configPath: String { "\(root)/config.lua" }
    var hooksDir: String { "\(root)/hooks" }

    /// Writes the daemon's config file: `fields` inside `return { ... }`, with the hooks directory in the
    /// daemon's root unless `fields` sets `hooks` itself. Every test daemon gets its own file, so a host's
    /// /etc/berth/config.lua never leaks into tests.
    func writeConfig(_ fields: String = "") throws {
        let hooks = fields.contains("hooks =") ? "" : "hooks = { dir = \"\(hooksDir)\" },\n"
        // Its own bridge, and no upstream DNS: tests never send queries to the host's resolver.
        let network =
            fields.contains("network =")
            ? ""
            : "network = { bridge = { name = \"\(bridgeName)\" }, dns_upstream = {}, nft_table = \"\(nftTable)\" },\n"
        try "return {\n\(hooks)\(network)\(fields)\n}\n".write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// This daemon's default bridge and nftables table: names of its own, removed by `cleanUp`.
    var bridgeName: String { "bt" + root.suffix(8) }
    var nftTable: String { "bt_" + root.suffix(8) }

    func writeHook(_ name: String, _ source: String) throws {
        try FileManager.default.createDirectory(atPath: hooksDir, withIntermediateDirectories: true)
        try source.write(toFile: hooksDir + "/" + name, atomically: true, encoding: .utf8)
    }

    /// SIGHUP: reload the configuration and the hooks.
    func reload() {
        if let p = process { kill(p.processIdentifier, SIGHUP) }
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binDir + "/berthd")
        if !FileManager.default.fileExists(atPath: configPath) { try writeConfig() }
        p.arguments = [
            "--config", configPath, "--root", root + "/lib", "--exec-root", root + "/run", "--storage-driver",
            storageDriver, "--log-level", "debug",
        ]
        if !FileManager.default.fileExists(atPath: root + "/berthd.log") {
            _ = FileManager.default.createFile(atPath: root + "/berthd.log", contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: root + "/berthd.log") else {
            throw TestFailure("cannot open \(root)/berthd.log")
        }
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        for _ in 0..<200 {
            if let r = try? client.call("GET", "/_ping"), r.status == 200 { return }
            if !p.isRunning { break }
            usleep(25_000)
        }
        throw TestFailure(
            "berthd did not start: \((try? String(contentsOfFile: root + "/berthd.log", encoding: .utf8)) ?? "")")
    }

    /// SIGKILL, as a crash.
    func crash() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    /// Starts a daemon, imports busybox:latest, runs `body`, then removes every container and the root.
    static func with(
        storageDriver: String = "overlay", config: String = "", hooks: [String: String] = [:],
        _ body: (TestDaemon) async throws -> Void
    ) async throws {
        let d = try TestDaemon(storageDriver: storageDriver)
        defer { d.cleanUp() }
        try d.writeConfig(config)
        for (name, source) in hooks { try d.writeHook(name, source) }
        try d.start()
        try d.importImage(tar: d.makeBusyboxTar(), name: "busybox:latest")
        try await body(d)
    }

    func cleanUp() {
        if process == nil { try? start() }
        if let r = try? client.call("GET", "/containers/json", query: [("all", "1")]), let list = r.json?.arrayValue {
            for c in list {
                if let id = c["Id"]?.stringValue {
                    _ = try? client.call("DELETE", "/containers/\(id)", query: [("force", "1")])
                }
            }
        }
        if let r = try? client.call("GET", "/networks"), let list = r.json?.arrayValue {
            for n in list where !["bridge", "host", "none"].contains(n["Name"]?.stringValue ?? "") {
                if let id = n["Id"]?.stringValue { _ = try? client.call("DELETE", "/networks/\(id)") }
            }
        }
        stop()
        if FileManager.default.fileExists(atPath: "/sys/class/net/\(bridgeName)") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/sbin/ip")
            p.arguments = ["link", "del", bridgeName]
            try? p.run()
            p.waitUntilExit()
        }
        let nft = Process()
        nft.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        nft.arguments = ["delete", "table", "ip", nftTable]
        nft.standardError = FileHandle.nullDevice
        try? nft.run()
        nft.waitUntilExit()
        try? FileManager.default.removeItem(atPath: root)
    }

    @discardableResult
    func importImage(tar: String, name: String) throws -> String {
        let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar)))
        let r = try client.checked("POST", "/images/create", query: [("fromSrc", "-"), ("repo", name)], body: body)
        guard let json = try? JSONValue.parse(bytes: r.body), let id = json["status"]?.stringValue else {
            throw TestFailure("import failed: \(String(decoding: r.body, as: UTF8.self))")
        }
        return id
    }

    struct RunResult {
        var exitCode: Int32
        var stdout: String
        var stderr: String
        var inspect: JSONValue
    }

    /// create → start → wait → logs → rm, like `docker run` without attaching.
    func run(
        _ cmd: [String], config: [(String, JSONValue)] = [], host: [(String, JSONValue)] = [], image: String = "busybox"
    ) throws -> RunResult {
        let id = try create(cmd, config: config, host: host, image: image)
        defer { _ = try? client.call("DELETE", "/containers/\(id)", query: [("force", "1")]) }
        try client.checked("POST", "/containers/\(id)/start")
        let w = try client.checked("POST", "/containers/\(id)/wait")
        let code = Int32(w.json?["StatusCode"]?.intValue ?? -1)
        let (out, err) = try logs(id)
        let inspect = try client.checked("GET", "/containers/\(id)/json").json ?? .null
        return RunResult(exitCode: code, stdout: out, stderr: err, inspect: inspect)
    }

    func create(
        _ cmd: [String], config: [(String, JSONValue)] = [], host: [(String, JSONValue)] = [],
        image: String = "busybox", name: String? = nil
    ) throws -> String {
        var body: JSONValue = .object([("Image", .string(image)), ("Cmd", .strings(cmd))])
        for (k, v) in config { body[k] = v }
        var h: JSONValue = .object([])
        for (k, v) in host { h[k] = v }
        body["HostConfig"] = h
        let r = try client.checked(
            "POST", "/containers/create", query: name.map { [("name", $0)] } ?? [], body: Array(body.serialized.utf8))
        guard let id = r.json?["Id"]?.stringValue else { throw TestFailure("no Id in create response") }
        return id
    }

    func logs(_ id: String) throws -> (String, String) {
        let r = try client.checked("GET", "/containers/\(id)/logs", query: [("stdout", "1"), ("stderr", "1")])
        return Self.demux(r.body)
    }

    static func demux(_ bytes: [UInt8]) -> (String, String) {
        var out: [UInt8] = [], err: [UInt8] = []
        var i = 0
        while i + 8 <= bytes.count {
            let n = Int(bytes[i + 4]) << 24 | Int(bytes[i + 5]) << 16 | Int(bytes[i + 6]) << 8 | Int(bytes[i + 7])
            let payload = bytes[(i + 8)..<min(bytes.count, i + 8 + n)]
            if bytes[i] == 2 { err += payload } else { out += payload }
            i += 8 + n
        }
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func log() -> String { (try? String(contentsOfFile: root + "/berthd.log", encoding: .utf8)) ?? "" }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Whether a cgroup directory for `id` exists in any v1 controller (or v2).
func cgroupExists(_ id: String) -> Bool {
    for c in ["memory", "pids", "cpu", "cpuset", "freezer", "devices", "blkio", "unified"] {
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(c)/berth/\(id)") { return true }
    }
    return FileManager.default.fileExists(atPath: "/sys/fs/cgroup/berth/\(id)")
}
