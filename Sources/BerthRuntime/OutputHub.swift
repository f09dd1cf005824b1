import Synchronization

/// Fans a container's live output out to attached clients. Each subscriber gets an ordered stream that ends
/// after the container's last output.
public final class OutputHub: Sendable {
    public enum Stream: UInt8, Sendable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    public struct Chunk: Sendable {
        public let stream: Stream
        public let bytes: [UInt8]
    }

    struct State {
        var subscribers: [Int: AsyncStream<Chunk>.Continuation] = [:]
        var next = 0
        var closed = false
        /// Told when the hub gains its first subscriber (true) or loses its last (false).
        var demand: (@Sendable (Bool) -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    /// A new subscription; it finishes when the hub closes (the container exited) or is cancelled.
    public func subscribe() -> AsyncStream<Chunk> {
        let (stream, continuation) = AsyncStream<Chunk>.makeStream()
        let key: Int? = state.withLock { s in
            if s.closed { return nil }
            let k = s.next
            s.next += 1
            s.subscribers[k] = continuation
            if s.subscribers.count == 1 { s.demand?(true) }
            return k
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                if s.subscribers.removeValue(forKey: key) != nil, s.subscribers.isEmpty { s.demand?(false) }
            }
        }
        return stream
    }

    /// Whether anyone is subscribed now.
    public var hasSubscribers: Bool { state.withLock { !$0.subscribers.isEmpty } }

    /// Sets who is told when the output starts or stops being wanted (the current shim session), and tells it
    /// the current state at once. Both happen under the hub's lock, so the changes arrive in order.
    public func onDemandChange(_ handler: @escaping @Sendable (Bool) -> Void) {
        state.withLock { s in
            s.demand = handler
            handler(!s.subscribers.isEmpty)
        }
    }

    func publish(_ bytes: [UInt8], stream: Stream) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for c in subscribers { c.yield(Chunk(stream: stream, bytes: bytes)) }
    }

    /// Ends every current subscription (the container's run ended); later subscribers wait for the next run.
    public func close() {
        finishAll(permanently: false)
    }

    /// Ends every subscription for good (the container is removed).
    public func shutdown() {
        finishAll(permanently: true)
    }

    private func finishAll(permanently: Bool) {
        let subscribers = state.withLock { s -> [AsyncStream<Chunk>.Continuation] in
            if permanently { s.closed = true }
            let all = Array(s.subscribers.values)
            s.subscribers.removeAll()
            return all
        }
        for c in subscribers { c.finish() }
    }
}
