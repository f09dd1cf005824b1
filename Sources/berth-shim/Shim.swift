import BerthCgroups
import BerthCore
import BerthOS
import CBerthLinux
import Glibc

/// Supervises one container: cgroup, start, stdio to log and daemon connections, exit status.
final class Shim {
    let spec: ShimSpec
    let cgroups: any CgroupManager
    /// Daemon connections: the socketpair from the spawn, then any daemon that reconnects via shim.sock.
    var connections: [Connection] = []
    var listenFD: Int32 = -1
    var log: LogWriter?
    /// The terminal's master (`-t`), for window size changes; -1 without a terminal.
    var ptyMaster: Int32 = -1
    /// Whether output goes to the daemon too (someone is attached); set by the spec, then by `output` messages.
    var forwardOutput = true
    /// exec into a running container: its cgroup is the container's, not the shim's to make or remove.
    var isExec: Bool { spec.joinPID > 0 }

    final class Connection {
        let fd: Int32
        var inbox: [UInt8] = []
        init(fd: Int32) { self.fd = fd }
    }

    init(stateDir: String, daemonFD: Int32) throws(BerthError) {
        let text = try FileSystem.readFile(stateDir + "/spec.json")
        spec = try ShimSpec(json: JSONValue.parse(bytes: text))
        ShimTrace.enabled = spec.trace
        ShimTrace.mark("spec")
        forwardOutput = spec.forwardOutput
        cgroups = Cgroups.detect()
        connections.append(Connection(fd: daemonFD))
        _ = fcntl(daemonFD, F_SETFD, FD_CLOEXEC)
    }

    /// Forks so the real shim is re-parented away from the daemon (which reaps the short-lived parent), letting
    /// containers outlive a daemon restart.
    func detach() {
        let pid = fork()
        if pid < 0 { ShimLog.fatal("berth-shim: fork: \(Syscall.describe(errno: errno))") }
        if pid > 0 { exit(0) }
        _ = berth_set_child_subreaper()
    }

    /// Starts the container and supervises it until it exits.
    /// - Returns: the shim's own exit code (0; failures are reported to the daemon).
    func run() -> Int32 {
        // An exec needs no files for a later daemon to find it: it is not adopted after a restart.
        if !isExec {
            try? FileSystem.writeFileAtomic(spec.stateDir + "/shim.pid", String(getpid()), durable: false)
        }
        let started: (pid: Int32, pidfd: Int32, stdin: Int32, stdout: Int32, stderr: Int32)
        do {
            // An exec's output goes to its client only, as with Docker.
            if !spec.logPath.isEmpty {
                log = try LogWriter(path: spec.logPath, maxSize: spec.logMaxSize, maxFiles: spec.logMaxFiles)
            }
            if !isExec { listenFD = try listen(path: spec.stateDir + "/shim.sock") }
            started = try startContainer()
        } catch {
            fail(class: error.code.name == "start" ? error.code.errno : 125, message: error.message)
            return 0
        }
        supervise(
            pid: started.pid, pidfd: started.pidfd, stdin: started.stdin, stdout: started.stdout, stderr: started.stderr
        )
        return 0
    }

    // MARK: - Start

    func startContainer() throws(BerthError) -> (pid: Int32, pidfd: Int32, stdin: Int32, stdout: Int32, stderr: Int32) {
        var joinFD: Int32 = -1
        if isExec {
            joinFD = try Syscall.call("pidfd_open \(spec.joinPID)") { berth_pidfd_open(spec.joinPID) }
        } else {
            try cgroups.create(path: spec.cgroupPath, resources: spec.resources)
            ShimTrace.mark("cgroup created")
        }
        var out = [Int32](repeating: -1, count: 2)
        var err = [Int32](repeating: -1, count: 2)
        var inp = [Int32](repeating: -1, count: 2)
        defer { if joinFD >= 0 { close(joinFD) } }
        do throws(BerthError) {
            // With a terminal the process writes to the pty's slave; the master comes back from the child.
            if !spec.tty {
                try Syscall.call("pipe") { berth_pipe_cloexec(&out) }
                try Syscall.call("pipe") { berth_pipe_cloexec(&err) }
                if spec.openStdin { try Syscall.call("pipe") { berth_pipe_cloexec(&inp) } }
            }
            let launcher = try ContainerLauncher(spec: spec)
            ShimTrace.mark("seccomp ready")
            var container = berth_container()
            let rc = launcher.withConfig(stdin: inp[0], stdout: out[1], stderr: err[1], joinPidfd: joinFD) { cfg in
                berth_container_start(cfg, &container)
            }
            if rc < 0 { throw Syscall.error("clone container", errno: -rc) }
            ShimTrace.mark("cloned")
            do throws(BerthError) {
                try cgroups.attach(path: spec.cgroupPath, pid: container.pid)
            } catch {
                kill(container.pid, SIGKILL)
                waitpid(container.pid, nil, 0)
                // An exec'd process sets itself up meanwhile: its own failure (say, an unknown user) says more.
                var message = [CChar](repeating: 0, count: 1024)
                let cls = berth_container_pending_error(container.sync_fd, &message, message.count)
                close(container.sync_fd)
                if cls != 0 { throw BerthError(.init("start", errno: cls), String(nulTerminated: message)) }
                throw error
            }
            ShimTrace.mark("cgroup attached")
            do throws(BerthError) {
                // A sandbox made beforehand, not /proc/PID/ns/net: the child may not have joined it yet.
                let netns = spec.joinNetworkNamespace ?? "/proc/\(container.pid)/ns/net"
                for interface in spec.interfaces { try Self.attach(interface, pid: container.pid, netns: netns) }
            } catch {
                kill(container.pid, SIGKILL)
                waitpid(container.pid, nil, 0)
                throw error
            }
            if !spec.interfaces.isEmpty { ShimTrace.mark("network attached") }
            var message = [CChar](repeating: 0, count: 1024)
            var master: Int32 = -1
            let cls = berth_container_resume(container.sync_fd, &master, &message, message.count)
            close(container.sync_fd)
            ShimTrace.mark("exec confirmed")
            if cls != 0 {
                if master >= 0 { close(master) }
                waitpid(container.pid, nil, 0)
                throw BerthError(.init("start", errno: cls), String(nulTerminated: message))
            }
            for fd in [out[1], err[1], inp[0]] where fd >= 0 { close(fd) }
            if spec.tty {
                guard master >= 0 else {
                    kill(container.pid, SIGKILL)
                    waitpid(container.pid, nil, 0)
                    throw BerthError(.internalError, "the container's terminal did not reach the shim")
                }
                ptyMaster = master
                // Output is read from the master, stdin written to a second descriptor of it (closed on its own
                // when the client's stdin ends).
                let input = spec.openStdin ? fcntl(master, F_DUPFD_CLOEXEC, 3) : -1
                return (container.pid, container.pidfd, input, master, -1)
            }
            return (container.pid, container.pidfd, inp[1], out[0], err[0])
        } catch {
            for fd in out + err + inp where fd >= 0 { close(fd) }
            if !isExec { cgroups.remove(path: spec.cgroupPath) }
            throw error
        }
    }

    /// Reports a failed start to the daemon and records it as the container's exit.
    func fail(class cls: Int32, message: String) {
        var code = cls
        if code == 125, message.hasPrefix("exec: ") { code = 127 }
        let status = ExitStatus(exitCode: code, oomKilled: false, finishedAt: Clock.nowNanos(), error: message)
        try? FileSystem.writeFileAtomic(spec.stateDir + "/exit.json", status.json.serialized, durable: false)
        broadcast(ShimMessage.failed, Array("\(code) \(message)".utf8))
        unlink(spec.stateDir + "/shim.sock")
    }

    /// Binds `path` through `/proc/self/fd/N/NAME`, so a deep state directory never hits the 108-byte limit of
    /// `sun_path`.
    func listen(path: String) throws(BerthError) -> Int32 {
        unlink(path)
        let dirFD = try Syscall.call("open \(FileSystem.parent(of: path))") {
            open(FileSystem.parent(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        defer { close(dirFD) }
        let shortPath = "/proc/self/fd/\(dirFD)/\(FileSystem.basename(path))"
        let fd = try Syscall.call("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(BerthError) {
            if try UnixSocket.withAddress(shortPath, { bind(fd, $0, $1) }) != 0 {
                throw Syscall.error("bind \(path)", errno: errno)
            }
        } catch {
            close(fd)
            throw error
        }
        chmod(path, 0o600)
        try Syscall.call("listen") { Glibc.listen(fd, 8) }
        return fd
    }

    // MARK: - Messages

    func broadcast(_ type: UInt8, _ payload: [UInt8]) {
        let frame = ShimMessage.frame(type, payload)
        for c in connections {
            // Blocking write: the daemon reads promptly; a dead daemon gives EPIPE (SIGPIPE is ignored).
            if (try? FileSystem.writeAll(fd: c.fd, frame, what: "daemon")) == nil { shutdown(c.fd, Int32(SHUT_RDWR)) }
        }
    }

    // MARK: - Network

    /// Makes one veth pair from the bridge into the container's network namespace (the child waits
    /// meanwhile, then configures its end).
    static func attach(_ i: ShimSpec.Interface, pid: Int32, netns: String) throws(BerthError) {
        if i.movesLink { return try moveLink(i, netns: netns) }
        var c = berth_veth_config()
        guard IPv4Address(i.address) != nil else { throw .invalidArgument("network: bad address \(i.address)") }
        if !i.gateway.isEmpty, IPv4Address(i.gateway) == nil {
            throw .invalidArgument("network: bad gateway \(i.gateway)")
        }
        if !i.macAddress.isEmpty {
            let parts = i.macAddress.split(separator: ":").compactMap { UInt8($0, radix: 16) }
            guard parts.count == 6 else { throw .invalidArgument("network: bad MAC address \(i.macAddress)") }
            c.mac = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
            c.has_mac = 1
        }
        c.pid = pid
        c.mtu = Int32(i.mtu)
        var message = [CChar](repeating: 0, count: 256)
        let rc = i.bridge.withCString { bridge in
            i.hostName.withCString { host in
                i.peerName.withCString { peer in
                    i.containerName.withCString { name in
                        c.bridge = bridge
                        c.host_name = host
                        c.peer_name = peer
                        c.container_name = name
                        return berth_net_attach_veth(&c, &message, message.count)
                    }
                }
            }
        }
        if rc < 0 {
            throw Syscall.error("network \(i.bridge): \(String(nulTerminated: message))", errno: -rc)
        }
    }

    /// A network plugin's interface (its `SrcName` on the host) moved into the container under its final name.
    /// One the plugin made inside the container's namespace already (Berth offers that in `Join`) is not on
    /// the host: the container's first process names it.
    static func moveLink(_ i: ShimSpec.Interface, netns: String) throws(BerthError) {
        if if_nametoindex(i.hostName) == 0 { return }
        var mac: [UInt8] = []
        if !i.macAddress.isEmpty {
            mac = i.macAddress.split(separator: ":").compactMap { UInt8($0, radix: 16) }
            guard mac.count == 6 else { throw .invalidArgument("network: bad MAC address \(i.macAddress)") }
        }
        var message = [CChar](repeating: 0, count: 256)
        let rc = mac.withUnsafeBufferPointer { macBytes in
            berth_net_move_link(
                i.hostName, netns, i.containerName, mac.isEmpty ? nil : macBytes.baseAddress, Int32(i.mtu), &message,
                message.count)
        }
        if rc < 0 {
            throw Syscall.error("network: interface \(i.hostName): \(String(nulTerminated: message))", errno: -rc)
        }
    }
}
