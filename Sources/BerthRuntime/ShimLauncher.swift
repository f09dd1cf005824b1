import BerthCore
import BerthOS
import CBerthLinux
import Glibc
import Logging
import NIOCore
import NIOPosix

/// Starts `berth-shim` for a container and connects the daemon to it; reconnects to a running shim after a
/// daemon restart. The daemon never forks: `berth_spawn` (posix_spawn in C) starts the shim.
public struct ShimLauncher: Sendable {
    public let shimPath: String
    public let group: MultiThreadedEventLoopGroup
    public let threadPool: NIOThreadPool
    let logger: Logger

    public init(shimPath: String, group: MultiThreadedEventLoopGroup, threadPool: NIOThreadPool, logger: Logger) {
        self.shimPath = shimPath
        self.group = group
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Writes `spec` to its state directory, spawns the shim and waits until the container has execve'd or
    /// failed.
    /// - Returns: the session and the container's pid.
    /// - Throws: `BerthError` whose code's errno is the Docker exit class (127 not found, 126 not executable,
    ///   125 otherwise) when the container could not start.
    ///   `onEvent` receives the session's events after the start (the exit, or the shim's loss).
    public func start(spec: ShimSpec, output: OutputHub, onEvent: @escaping @Sendable (ShimSession.Event) -> Void)
        async throws(BerthError) -> (ShimSession, Int32)
    {
        try FileSystem.createDirectory(spec.stateDir, mode: 0o711)
        for stale in ["exit.json", "pid", "shim.pid", "shim.sock"] { unlink(spec.stateDir + "/" + stale) }
        try FileSystem.writeFileAtomic(spec.stateDir + "/spec.json", spec.json.serialized, mode: 0o600, durable: false)
        var pair: [Int32] = [-1, -1]
        try Syscall.call("socketpair") { berth_socketpair_cloexec(&pair) }
        let shimLog = open(spec.stateDir + "/shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { if shimLog >= 0 { close(shimLog) } }
        let args = [shimPath, "start", spec.stateDir]
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        let pid = Self.spawn(path: shimPath, args: args, env: env, fds: [-1, -1, shimLog, pair[1]])
        close(pair[1])
        if pid < 0 {
            close(pair[0])
            throw Syscall.error("spawn \(shimPath)", errno: -pid)
        }
        // A container's first shim process forks the real shim and exits at once; an exec's shim stays (it
        // does not outlive the daemon's interest in it, and the fork would cost a millisecond). Either is reaped
        // without holding up the start (the socketpair is already connected to the real shim).
        if berth_reap_in_background(pid) != 0 {
            let pool = threadPool
            Task { _ = try? await pool.runIfActive { waitpid(pid, nil, 0) } }
        }

        let gate = EventGate(onEvent: onEvent)
        let session = ShimSession(containerID: spec.id, output: output) { gate.deliver($0) }
        do {
            let channel = try await connect(session: session, fd: pair[0])
            session.attach(channel: channel)
        } catch {
            close(pair[0])
            throw BerthError(.internalError, "connect to shim: \(error)")
        }
        switch await gate.next() {
        case .started(let pid):
            // Events queued behind the start (a fast container's exit) go to the owner too.
            gate.handOver()
            return (session, pid)
        case .failed(let code, let message):
            throw BerthError(.init("start", errno: code), message)
        case .exited(let status):
            throw BerthError(.internalError, "container exited during start (\(status.exitCode))")
        case .lost:
            let log = (try? FileSystem.readText(spec.stateDir + "/shim.log")) ?? ""
            throw BerthError(
                .internalError,
                "shim exited before starting the container" + (log.isEmpty ? "" : ": \(log.trimmingSpaces)"))
        }
    }

    public static func spawn(path: String, args: [String], env: [String], fds: [Int32]) -> pid_t {
        HostCommand.spawn(path: path, args: args, env: env, fds: fds)
    }

    func connect(session: ShimSession, fd: Int32) async throws -> Channel {
        try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ShimFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ShimFrameHandler(session: session))
                }
            }
            .withConnectedSocket(fd).get()
    }

    /// Reconnects to the shim of a container that kept running while the daemon was down.
    /// - Returns: the session and the pid the shim reports, or nil when the shim is gone.
    public func reconnect(
        id: String, stateDir: String, output: OutputHub, onEvent: @escaping @Sendable (ShimSession.Event) -> Void
    ) async -> (ShimSession, Int32)? {
        let gate = EventGate(onEvent: onEvent)
        let session = ShimSession(containerID: id, output: output) { gate.deliver($0) }
        let channel: Channel
        // Connect through /proc/self/fd/N so a deep state directory never exceeds sun_path's 108 bytes.
        let dirFD = open(stateDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { return nil }
        defer { close(dirFD) }
        do {
            channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ShimFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ShimFrameHandler(session: session))
                    }
                }
                .connect(unixDomainSocketPath: "/proc/self/fd/\(dirFD)/shim.sock").get()
        } catch {
            return nil
        }
        session.attach(channel: channel)
        if case .started(let pid) = await gate.next() {
            gate.handOver()
            return (session, pid)
        }
        channel.close(promise: nil)
        return nil
    }
}
