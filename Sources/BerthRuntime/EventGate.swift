import Synchronization

/// Routes a shim session's events: first to whoever waits for the start (`next`), then, once handed over,
/// to the owner's handler, without losing an event that arrives in between (a fast container's exit).
final class EventGate: Sendable {
    struct State {
        var waiting: CheckedContinuation<ShimSession.Event, Never>?
        var buffered: [ShimSession.Event] = []
        var handedOver = false
    }

    private let state = Mutex(State())
    private let onEvent: @Sendable (ShimSession.Event) -> Void

    init(onEvent: @escaping @Sendable (ShimSession.Event) -> Void) { self.onEvent = onEvent }

    func deliver(_ event: ShimSession.Event) {
        enum Action { case handler, resume(CheckedContinuation<ShimSession.Event, Never>), none }
        let action: Action = state.withLock { s in
            if s.handedOver { return .handler }
            if let w = s.waiting {
                s.waiting = nil
                return .resume(w)
            }
            s.buffered.append(event)
            return .none
        }
        switch action {
        case .handler: onEvent(event)
        case .resume(let c): c.resume(returning: event)
        case .none: break
        }
    }

    /// The next event before the hand-over.
    func next() async -> ShimSession.Event {
        await withCheckedContinuation { (c: CheckedContinuation<ShimSession.Event, Never>) in
            let ready: ShimSession.Event? = state.withLock { s in
                if !s.buffered.isEmpty { return s.buffered.removeFirst() }
                s.waiting = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// From now on events go to the owner's handler, starting with any that queued up.
    func handOver() {
        let queued = state.withLock { s -> [ShimSession.Event] in
            s.handedOver = true
            defer { s.buffered.removeAll() }
            return s.buffered
        }
        for e in queued { onEvent(e) }
    }
}
