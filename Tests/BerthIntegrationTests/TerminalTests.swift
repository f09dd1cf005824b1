import BerthAPIClient
import BerthCore
import Foundation
import Testing

/// The `berth` CLI driven through a real pseudo-terminal, as a user at a terminal drives it.
final class PseudoTerminal {
    let master: Int32
    let process: Process
    private var buffer: [UInt8] = []

    /// Starts `berth ARGS` with a new pty (of `rows` x `cols`) as its stdin, stdout and stderr.
    init(_ d: TestDaemon, _ args: [String], rows: UInt16 = 24, cols: UInt16 = 80) throws {
        // posix_openpt and friends are hidden by Glibc's module: the ioctls behind them (TIOCSPTLCK, TIOCGPTN;
        // x86_64 and arm64 numbers) do the same.
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, 0x4004_5431, &unlock) == 0, ioctl(master, 0x8004_5430, &number) == 0 else {
            throw TestFailure("cannot open a pseudo-terminal")
        }
        let slaveName = "/dev/pts/\(number)"
        var ws = winsize(ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &ws)
        let slave = FileHandle(forUpdatingAtPath: slaveName)
        guard let slave else { throw TestFailure("cannot open \(slaveName)") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestDaemon.binDir + "/berth")
        process.arguments = ["-H", "unix://\(d.socketPath)"] + args
        process.standardInput = slave
        process.standardOutput = slave
        process.standardError = slave
        try process.run()
        try slave.close()
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Reads until `text` appears (true) or `seconds` pass (false); what was read stays for `output`.
    func waitFor(_ text: String, seconds: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if String(decoding: buffer, as: UTF8.self).contains(text) { return true }
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n <= 0 { return String(decoding: buffer, as: UTF8.self).contains(text) }
            buffer += chunk[0..<n]
        }
        return false
    }

    var output: String { String(decoding: buffer, as: UTF8.self) }

    /// Forgets what was read so far.
    func clear() { buffer = [] }

    /// A new window size, announced to the CLI with SIGWINCH.
    func resize(rows: UInt16, cols: UInt16) {
        var ws = winsize(ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &ws)
        kill(process.processIdentifier, SIGWINCH)
    }

    /// Waits for the CLI to exit and returns its status (nil after `seconds`).
    func exitStatus(seconds: Double = 10) -> Int32? {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < end {
            _ = waitFor("\u{0}", seconds: 0.1)  // keep draining the terminal
        }
        return process.isRunning ? nil : process.terminationStatus
    }
}

@Suite(.serialized)
struct TerminalTests {
    /// `run -it`: a shell on the container's own pty with the client's window size, a resize seen by
    /// `stty size`, detach with ctrl-p ctrl-q, re-attach, exit code through attach.
    @Test func interactiveShellResizeDetachAndAttach() async throws {
        try await TestDaemon.with { d in
            let run = try PseudoTerminal(d, ["run", "-it", "--name", "tty1", "busybox", "sh"], rows: 24, cols: 80)
            #expect(run.waitFor("# "))
            run.send("tty; stty size\r")
            #expect(run.waitFor("24 80"))
            #expect(run.output.contains("/dev/pts/0"))
            run.resize(rows: 33, cols: 120)
            usleep(300_000)
            run.clear()
            run.send("stty size\r")
            #expect(run.waitFor("33 120"))
            // ctrl-p ctrl-q: the client leaves, the shell keeps running.
            run.send("\u{10}\u{11}")
            #expect(run.exitStatus() == 0)
            let state = try d.client.checked("GET", "/containers/tty1/json").json?["State"]
            #expect(state?["Running"]?.boolValue == true)

            let attach = try PseudoTerminal(d, ["attach", "tty1"])
            usleep(300_000)
            attach.send("echo again-$((40+2))\r")
            #expect(attach.waitFor("again-42"))
            attach.send("exit 3\r")
            #expect(attach.exitStatus() == 3)
            let after = try d.client.checked("GET", "/containers/tty1/json").json?["State"]
            #expect(after?["ExitCode"]?.intValue == 3)
            try d.client.checked("DELETE", "/containers/tty1")
        }
    }

    /// `exec -it` gets its own terminal in the container's devpts; input and its exit code pass through.
    @Test func execWithATerminal() async throws {
        try await TestDaemon.with { d in
            let id = try d.create(["sleep", "60"])
            try d.client.checked("POST", "/containers/\(id)/start")
            let exec = try PseudoTerminal(d, ["exec", "-it", id, "sh"], rows: 30, cols: 90)
            #expect(exec.waitFor("# "))
            exec.send("tty; stty size; exit 5\r")
            #expect(exec.waitFor("30 90"))
            #expect(exec.output.contains("/dev/pts/"))
            #expect(exec.exitStatus() == 5)
            try d.client.checked("DELETE", "/containers/\(id)", query: [("force", "1")])
        }
    }

    /// The output of a detached container goes to the daemon only while someone is attached: attaching later,
    /// leaving and attaching again all see live output, and the log has every line in order either way.
    @Test func attachToADetachedContainerSeesLiveOutput() async throws {
        try await TestDaemon.with { d in
            let run = try CLITests.berth(
                d,
                [
                    "run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                    "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done",
                ])
            try #require(run.status == 0)
            for round in 0..<2 {
                let attach = try PseudoTerminal(d, ["attach", "--no-stdin", "ticker"])
                #expect(attach.waitFor("tick-"), "round \(round): \(attach.output)")
                // SIGTERM would be proxied to the container (--sig-proxy): the client is killed instead.
                kill(attach.process.processIdentifier, SIGKILL)
                _ = attach.exitStatus()
                usleep(200_000)
            }
            let logs = try CLITests.berth(d, ["logs", "ticker"]).stdout.split(separator: "\n")
            #expect(logs.count > 5)
            #expect(logs.enumerated().allSatisfy { $0.element == "tick-\($0.offset + 1)" })
            _ = try CLITests.berth(d, ["rm", "-f", "ticker"])
        }
    }
}
