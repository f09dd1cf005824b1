import BerthCore
import NIOCore
import Synchronization

/// The daemon's side of one connection to a container's shim: start result, output, exit, and requests
/// (stdin, close stdin, signals).
public final class ShimSession: Sendable {
    /// What the session reports to its owner.
    public enum Event: Sendable {
        /// The container process runs with this pid.
        case started(pid: Int32)
        /// The container could not start: exit class (125–127) and message.
        case failed(code: Int32, message: String)
        /// The container exited; all its output has been delivered before this.
        case exited(ExitStatus)
        /// The shim went away without reporting an exit.
        case lost
    }

    struct State {
        var channel: Channel?
        var finished = false
    }

    public let containerID: String
    public let output: OutputHub
    private let state = Mutex(State())
    private let onEvent: @Sendable (Event) -> Void

    public init(containerID: String, output: OutputHub, onEvent: @escaping @Sendable (Event) -> Void) {
        self.containerID = containerID
        self.output = output
        self.onEvent = onEvent
    }

    func attach(channel: Channel) {
        state.withLock { $0.channel = channel }
        output.onDemandChange { [weak self] wanted in
            self?.send(ShimMessage.output, [UInt8(ascii: wanted ? "1" : "0")])
        }
    }

    func received(_ frame: ShimFrame) {
        switch frame.type {
        case ShimMessage.stdout: output.publish(frame.payload, stream: .stdout)
        case ShimMessage.stderr: output.publish(frame.payload, stream: .stderr)
        case ShimMessage.started, ShimMessage.hello:
            if let pid = Int32(String(decoding: frame.payload, as: UTF8.self)) { onEvent(.started(pid: pid)) }
        case ShimMessage.failed:
            let text = String(decoding: frame.payload, as: UTF8.self)
            let space = text.firstIndex(of: " ") ?? text.endIndex
            let code = Int32(text[..<space]) ?? 125
            let message = space < text.endIndex ? String(text[text.index(after: space)...]) : text
            finish(.failed(code: code, message: message))
        case ShimMessage.exited:
            let status =
                (try? ExitStatus(json: JSONValue.parse(bytes: frame.payload)))
                ?? ExitStatus(exitCode: 255, oomKilled: false, finishedAt: 0, error: "malformed exit status from shim")
            finish(.exited(status))
        default:
            break
        }
    }

    func disconnected() {
        finish(.lost)
    }

    private func finish(_ event: Event) {
        let first = state.withLock { s -> Bool in
            if s.finished { return false }
            s.finished = true
            return true
        }
        guard first else { return }
        output.close()
        onEvent(event)
    }

    /// Sends a request to the shim; silently dropped once the shim is gone.
    public func send(_ type: UInt8, _ payload: [UInt8] = []) {
        guard let channel = state.withLock({ $0.channel }) else { return }
        let frame = ShimMessage.frame(type, payload)
        channel.writeAndFlush(channel.allocator.buffer(bytes: frame), promise: nil)
    }

    public func signal(_ sig: Int32) { send(ShimMessage.signal, Array(String(sig).utf8)) }

    public func close() {
        state.withLock { $0.channel }?.close(promise: nil)
    }
}
