import BerthAPIClient
import BerthCore
import Glibc

/// Copies a hijacked attach stream to the terminal and, with `-i`, the terminal's stdin to the stream.
///
/// One thread, one `poll()` over the socket, stdin and the signal pipe. Without a TTY the daemon multiplexes
/// stdout and stderr into frames, which are split back onto fds 1 and 2; with a TTY the bytes are copied raw.
/// At the end of stdin the socket is half-closed (`shutdown(SHUT_WR)`), which tells the daemon to close the
/// container's stdin; the session ends when the daemon closes the stream, that is, when the process exits.
struct AttachSession {
    let connection: Connection
    let tty: Bool
    let forwardStdin: Bool
    /// With a TTY, the keys that detach (`--detach-keys`, ctrl-p ctrl-q by default): the session ends and the
    /// container keeps running.
    var detachKeys: DetachKeys?

    enum End {
        /// The daemon closed the stream (the process exited, or the container's streams ended).
        case closed
        /// The detach keys were typed.
        case detached
    }

    /// Pumps until the daemon closes the stream or the user detaches. `onSignal` gets each signal the proxy
    /// caught.
    @discardableResult
    func pump(signals: SignalProxy?, onSignal: (Int32) -> Void) throws(CLIError) -> End {
        var demux = StreamDemultiplexer()
        func emit(_ bytes: ArraySlice<UInt8>) {
            if tty {
                Output.write(1, bytes)
                return
            }
            for frame in demux.feedJoined(bytes) {
                Output.write(frame.stream == StreamDemultiplexer.stdout ? 1 : 2, frame.payload)
            }
        }
        let socket = connection.fd
        if !connection.pending.isEmpty {
            emit(connection.pending[...])
            connection.pending.removeAll()
        }
        var stdinOpen = forwardStdin
        var matcher = tty ? detachKeys?.matcher() : nil
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            let stdinIndex = fds.count
            if stdinOpen { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            let signalIndex = fds.count
            if let signals { fds.append(pollfd(fd: signals.readFD, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                throw CLIError("poll: \(String(cString: strerror(errno)))")
            }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return .closed }
                emit(buf[0..<n])
            }
            if stdinOpen, fds[stdinIndex].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    stdinOpen = false
                    shutdown(socket, Int32(SHUT_WR))
                } else {
                    var bytes = Array(buf[0..<n])
                    var detached = false
                    if matcher != nil { (bytes, detached) = matcher?.feed(bytes) ?? (bytes, false) }
                    if !bytes.isEmpty {
                        do { try connection.send(bytes) } catch { stdinOpen = false }
                    }
                    if detached { return .detached }
                }
            }
            if let signals, fds[signalIndex].revents != 0, let signal = signals.next() {
                onSignal(signal)
            }
        }
    }
}

/// `--sig-proxy`: signals sent to `berth` are caught and handed to the poll loop through a pipe, which then
/// forwards them to the container (`POST /containers/{id}/kill?signal=N`), as the docker CLI does. With a TTY
/// the same pipe carries SIGWINCH, which becomes a resize of the container's terminal.
struct SignalProxy {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    let readFD: Int32

    /// Installs the handlers for `signals`; nil if the pipe cannot be made.
    static func install(_ signals: [Int32] = forwarded) -> SignalProxy? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        signalPipeWriteFD = fds[1]
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals {
            signal(sig, signalProxyHandler)
            sigaddset(&set, sig)
        }
        // A parent may have started berth with these signals blocked.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return SignalProxy(readFD: fds[0])
    }

    /// The next caught signal.
    func next() -> Int32? {
        var byte: UInt8 = 0
        return read(readFD, &byte, 1) == 1 ? Int32(byte) : nil
    }
}

/// The write end of the signal pipe. A C signal handler cannot capture context, so it reads this global;
/// it is set once, before any handler is installed, and only read afterwards.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

private let signalProxyHandler: @convention(c) (Int32) -> Void = { sig in
    var byte = UInt8(truncatingIfNeeded: sig)
    _ = write(signalPipeWriteFD, &byte, 1)
}
