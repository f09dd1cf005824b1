import BerthCore
import BerthOS
import Synchronization

/// Engine events (`docker events`): a bounded history for `--since`, and live subscribers.
final class EventBus: Sendable {
    struct Event: Sendable {
        var type: String
        var action: String
        var actorID: String
        var attributes: [String: String]
        var timeNano: Int64

        var json: JSONValue {
            var o: JSONValue = .object([])
            if type == "container" || type == "image" {
                o["status"] = .string(action)
                o["id"] = .string(actorID)
                if let from = attributes["image"], type == "container" { o["from"] = .string(from) }
            }
            o["Type"] = .string(type)
            o["Action"] = .string(action)
            o["Actor"] = .object([("ID", .string(actorID)), ("Attributes", .map(attributes))])
            o["scope"] = .string("local")
            o["time"] = .int(timeNano / 1_000_000_000)
            o["timeNano"] = .int(timeNano)
            return o
        }
    }

    struct State {
        var history: [Event] = []
        var subscribers: [Int: AsyncStream<Event>.Continuation] = [:]
        var next = 0
    }

    private let state = Mutex(State())
    static let historyLimit = 1024

    func publish(type: String, action: String, id: String, attributes: [String: String]) {
        let event = Event(type: type, action: action, actorID: id, attributes: attributes, timeNano: Clock.nowNanos())
        let subscribers = state.withLock { s -> [AsyncStream<Event>.Continuation] in
            s.history.append(event)
            if s.history.count > EventBus.historyLimit {
                s.history.removeFirst(s.history.count - EventBus.historyLimit)
            }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.yield(event) }
    }

    /// Past events (oldest first) and a live stream, taken atomically so none is missed or doubled.
    func subscribe() -> ([Event], AsyncStream<Event>) {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let (past, key) = state.withLock { s -> ([Event], Int) in
            let k = s.next
            s.next += 1
            s.subscribers[k] = continuation
            return (s.history, k)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: key) }
        }
        return (past, stream)
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
