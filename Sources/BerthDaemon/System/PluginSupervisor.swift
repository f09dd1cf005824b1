import BerthCore
import BerthOS
import BerthPlugins
import CBerthLinux
import Glibc
import Logging

/// Runs the plugin executables config.lua names (`plugins = { run = { NAME = { "/path", "arg", … } } }`):
/// each is started with the daemon, its output goes into the daemon's log line by line (with the plugin's
/// name), and one that exits is started again after a back-off (100 ms doubling to 30 s; reset after 10 s
/// of running). At shutdown they get SIGTERM, then SIGKILL after 5 s.
///
/// Spawning goes through `berth_spawn` (no Swift between fork and exec); exits are found by `waitpid`
/// with `WNOHANG` every 100 ms, and output by non-blocking reads, on one task.
actor PluginSupervisor {
    struct Child {
        var pid: pid_t = 0
        var output: Int32 = -1
        var pending: [UInt8] = []
        var startedAt: UInt64 = 0
        var delayMs: UInt64 = 100
        var nextStart: UInt64 = 0
    }

    let programs: [String: [String]]
    let logger: Logger
    private var children: [String: Child] = [:]
    private var stopping = false

    /// Told when a program exits: its activation is forgotten, so its next use activates the new process
    /// (and sends what must follow an activation, such as a graph driver's `Init`).
    let registry: PluginRegistry?

    init(programs: [String: [String]], registry: PluginRegistry? = nil, logger: Logger) {
        self.programs = programs
        self.registry = registry
        self.logger = logger
    }

    /// Starts every program and watches them until `stop()`.
    func run() async {
        for name in programs.keys.sorted() { children[name] = Child() }
        while !stopping {
            let now = UInt64(berth_monotonic_ns() / 1_000_000)
            for name in children.keys.sorted() where tick(name, now: now) { await registry?.forget(name) }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// Restarts the program `name` when it is due. - Returns: whether it was found to have exited.
    private func tick(_ name: String, now: UInt64) -> Bool {
        guard var child = children[name] else { return false }
        var exited = false
        drain(name, &child)
        if child.pid > 0 {
            var status: Int32 = 0
            if waitpid(child.pid, &status, WNOHANG) == child.pid {
                drain(name, &child, final: true)
                let ran = now - child.startedAt
                if ran > 10_000 { child.delayMs = 100 }
                child.nextStart = now + child.delayMs
                logger.warning(
                    "plugin exited; restarting",
                    metadata: [
                        "plugin": "\(name)", "status": "\(status)", "ran_ms": "\(ran)",
                        "restart_in_ms": "\(child.delayMs)",
                    ])
                child.delayMs = min(child.delayMs * 2, 30_000)
                child.pid = 0
                exited = true
            }
        }
        if child.pid == 0, now >= child.nextStart, let argv = programs[name] {
            start(name, argv, &child, now: now)
        }
        children[name] = child
        return exited
    }

    private func start(_ name: String, _ argv: [String], _ child: inout Child, now: UInt64) {
        var pipeFDs: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&pipeFDs) == 0 else { return }
        let flags = fcntl(pipeFDs[0], F_GETFL)
        _ = fcntl(pipeFDs[0], F_SETFL, flags | O_NONBLOCK)
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let pid = HostCommand.spawn(path: argv[0], args: argv, env: env, fds: [-1, pipeFDs[1], pipeFDs[1]])
        close(pipeFDs[1])
        guard pid > 0 else {
            close(pipeFDs[0])
            child.nextStart = now + child.delayMs
            child.delayMs = min(child.delayMs * 2, 30_000)
            logger.error(
                "plugin failed to start",
                metadata: ["plugin": "\(name)", "program": "\(argv[0])", "error": "\(Syscall.describe(errno: -pid))"])
            return
        }
        if child.output >= 0 { close(child.output) }
        child.pid = pid
        child.output = pipeFDs[0]
        child.startedAt = now
        logger.info("plugin started", metadata: ["plugin": "\(name)", "pid": "\(pid)", "program": "\(argv[0])"])
    }

    /// Logs the complete lines the program wrote (and the rest once it has exited).
    private func drain(_ name: String, _ child: inout Child, final: Bool = false) {
        guard child.output >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(child.output, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            child.pending += buffer[0..<n]
        }
        while let newline = child.pending.firstIndex(of: 0x0A) {
            let line = String(decoding: child.pending[..<newline], as: UTF8.self)
            child.pending.removeSubrange(...newline)
            logger.info("plugin output", metadata: ["plugin": "\(name)", "line": "\(line)"])
        }
        if final, !child.pending.isEmpty {
            logger.info(
                "plugin output",
                metadata: ["plugin": "\(name)", "line": "\(String(decoding: child.pending, as: UTF8.self))"])
            child.pending = []
        }
    }

    /// SIGTERM to every program, SIGKILL to those still there after 5 s.
    func stop() async {
        stopping = true
        let pids = children.values.map(\.pid).filter { $0 > 0 }
        for pid in pids { kill(pid, SIGTERM) }
        for _ in 0..<50 {
            if pids.allSatisfy({ waitpid($0, nil, WNOHANG) != 0 }) { break }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        for pid in pids where kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
        }
        for child in children.values where child.output >= 0 { close(child.output) }
    }
}
