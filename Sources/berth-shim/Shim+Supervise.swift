import BerthCore
import BerthOS
import CBerthLinux
import Glibc

extension Shim {
    /// The event loop: container output to the log and the daemon, daemon requests to the container, until the
    /// container has exited and its output is drained.
    func supervise(pid: Int32, pidfd: Int32, stdin stdinFD: Int32, stdout: Int32, stderr: Int32) {
        if !isExec { try? FileSystem.writeFileAtomic(spec.stateDir + "/pid", String(pid), durable: false) }
        broadcast(ShimMessage.started, Array(String(pid).utf8))
        ShimTrace.mark("started sent")
        // Set-up memory is given back once the container has run quietly for a moment, so that short-lived
        // containers are not slowed down by it.
        var released = false
        var stdinFD = stdinFD
        var streams: [(fd: Int32, name: String, type: UInt8)] = [
            (stdout, "stdout", ShimMessage.stdout), (stderr, "stderr", ShimMessage.stderr),
        ].filter { $0.0 >= 0 }
        var status: Int32? = nil
        // Large reads from large pipes: a container that writes fast costs fewer wake-ups and log writes.
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for s in streams { _ = fcntl(s.fd, 1031, Int32(1 << 20)) }  // F_SETPIPE_SZ (hidden by Glibc's module)
        // Without a pidfd, SIGCHLD through a self-pipe would be needed; Linux 5.3+ always gives one.
        var exitFD = pidfd

        while status == nil || !streams.isEmpty {
            var fds: [pollfd] = []
            for s in streams { fds.append(pollfd(fd: s.fd, events: Int16(POLLIN), revents: 0)) }
            let connBase = fds.count
            for c in connections { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            let listenIndex = fds.count
            fds.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0))
            let exitIndex = fds.count
            fds.append(pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0))
            // Once the container has exited, output still in the pipes is drained; a straggler holding a pipe
            // open (it cannot: the pid namespace is gone) would be cut off after a second.
            let n = poll(&fds, nfds_t(fds.count), status != nil ? 1000 : (released ? -1 : 100))
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if n == 0, status != nil { break }
            if n == 0, !released {
                released = true
                releaseSetupMemory()
                continue
            }

            // Output first, so everything written before the exit is forwarded before the exit message.
            var closed: [Int32] = []
            for (i, s) in streams.enumerated() where fds[i].revents != 0 {
                let r = buffer.withUnsafeMutableBytes { read(s.fd, $0.baseAddress, $0.count) }
                if r > 0 {
                    buffer.withUnsafeBufferPointer {
                        log?.append(UnsafeBufferPointer(rebasing: $0[0..<r]), stream: s.name)
                    }
                    if forwardOutput { broadcast(s.type, Array(buffer[0..<r])) }
                } else if r == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.append(s.fd)
                }
            }
            for fd in closed {
                close(fd)
                streams.removeAll { $0.fd == fd }
            }

            var dead: [Int32] = []
            for (j, c) in connections.enumerated() where fds[connBase + j].revents != 0 {
                if !handleRequest(c, pid: pid, pidfd: pidfd, stdinFD: &stdinFD) { dead.append(c.fd) }
            }
            for fd in dead {
                close(fd)
                connections.removeAll { $0.fd == fd }
            }

            if fds[listenIndex].revents & Int16(POLLIN) != 0 {
                let fd = accept(listenFD, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    let c = Connection(fd: fd)
                    connections.append(c)
                    let hello = ShimMessage.frame(ShimMessage.hello, Array(String(pid).utf8))
                    try? FileSystem.writeAll(fd: fd, hello, what: "daemon")
                }
            }

            if status == nil, fds[exitIndex].revents != 0 {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = raw
                    if stdinFD >= 0 {
                        close(stdinFD)
                        stdinFD = -1
                    }
                    // Keep polling something harmless in place of the pidfd.
                    exitFD = listenFD
                }
                reapOrphans()
            }
        }
        reapOrphans()
        finish(rawStatus: status ?? 0)
    }

    /// Reads one or more frames from a daemon connection. Returns false when the connection is gone.
    func handleRequest(_ c: Connection, pid: Int32, pidfd: Int32, stdinFD: inout Int32) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 32768)
        let r = chunk.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
        if r <= 0 { return r < 0 && errno == EINTR }
        c.inbox.append(contentsOf: chunk[0..<r])
        while c.inbox.count >= ShimMessage.headerSize {
            let len = Int(c.inbox[1]) << 24 | Int(c.inbox[2]) << 16 | Int(c.inbox[3]) << 8 | Int(c.inbox[4])
            guard c.inbox.count >= ShimMessage.headerSize + len else { break }
            let type = c.inbox[0]
            let payload = Array(c.inbox[ShimMessage.headerSize..<ShimMessage.headerSize + len])
            c.inbox.removeFirst(ShimMessage.headerSize + len)
            switch type {
            case ShimMessage.stdin where stdinFD >= 0:
                if (try? FileSystem.writeAll(fd: stdinFD, payload, what: "stdin")) == nil {
                    close(stdinFD)
                    stdinFD = -1
                }
            case ShimMessage.closeStdin where stdinFD >= 0:
                close(stdinFD)
                stdinFD = -1
            case ShimMessage.resize where ptyMaster >= 0:
                let parts = String(decoding: payload, as: UTF8.self).split(separator: " ").compactMap { UInt16($0) }
                if parts.count == 2 {
                    var size = winsize(ws_row: parts[0], ws_col: parts[1], ws_xpixel: 0, ws_ypixel: 0)
                    _ = ioctl(ptyMaster, UInt(TIOCSWINSZ), &size)
                }
            case ShimMessage.output:
                forwardOutput = payload == [UInt8(ascii: "1")]
            case ShimMessage.signal:
                if let sig = Int32(String(decoding: payload, as: UTF8.self)) {
                    if pidfd >= 0 { _ = berth_pidfd_send_signal(pidfd, sig) } else { kill(pid, sig) }
                }
            default:
                break
            }
        }
        return true
    }

    /// As a subreaper the shim inherits orphans of the container (e.g. `docker exec` children); reap them.
    func reapOrphans() {
        while waitpid(-1, nil, WNOHANG) > 0 {}
    }

    /// Records the exit, tells the daemons, removes the cgroup.
    func finish(rawStatus: Int32) {
        ShimTrace.mark("exited")
        log?.flush()
        let code: Int32
        if rawStatus & 0x7F == 0 {
            code = (rawStatus >> 8) & 0xFF
        } else {
            code = 128 + (rawStatus & 0x7F)
        }
        let oom = !isExec && cgroups.oomKilled(path: spec.cgroupPath)
        let status = ExitStatus(exitCode: code, oomKilled: oom, finishedAt: Clock.nowNanos())
        // The exec-root is volatile (tmpfs /run): atomic, but no fsync.
        try? FileSystem.writeFileAtomic(spec.stateDir + "/exit.json", status.json.serialized, durable: false)
        if !isExec { cgroups.remove(path: spec.cgroupPath) }
        unlink(spec.stateDir + "/shim.sock")
        broadcast(ShimMessage.exited, Array(status.json.serialized.utf8))
        ShimTrace.mark("exit sent")
    }
}
