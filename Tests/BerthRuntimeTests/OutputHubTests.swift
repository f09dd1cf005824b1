import Synchronization
import Testing

@testable import BerthRuntime

struct OutputHubTests {
    /// Everything a subscription yields until it finishes, as (stream, text) pairs.
    private func drain(_ stream: AsyncStream<OutputHub.Chunk>) async -> [String] {
        var out: [String] = []
        for await chunk in stream {
            out.append("\(chunk.stream.rawValue):\(String(decoding: chunk.bytes, as: UTF8.self))")
        }
        return out
    }

    @Test func everySubscriberGetsEveryChunkInOrder() async {
        let hub = OutputHub()
        let a = hub.subscribe()
        let b = hub.subscribe()
        for i in 0..<100 { hub.publish(Array("line \(i)\n".utf8), stream: i % 3 == 0 ? .stderr : .stdout) }
        hub.close()
        let expected = (0..<100).map { "\($0 % 3 == 0 ? 2 : 1):line \($0)\n" }
        async let gotA = drain(a)
        async let gotB = drain(b)
        #expect(await gotA == expected)
        #expect(await gotB == expected)
    }

    @Test func subscribersReadWhilePublishing() async {
        let hub = OutputHub()
        let stream = hub.subscribe()
        let reader = Task { await drain(stream) }
        for i in 0..<500 {
            hub.publish([UInt8(truncatingIfNeeded: i)], stream: .stdout)
            if i % 50 == 0 { await Task.yield() }
        }
        hub.close()
        let got = await reader.value
        #expect(got.count == 500)
        #expect(got.first == "1:\u{0}")
    }

    @Test func closeFinishesCurrentSubscribersAndLaterOnesWaitForTheNextRun() async {
        let hub = OutputHub()
        let first = hub.subscribe()
        hub.publish(Array("run 1".utf8), stream: .stdout)
        hub.close()
        #expect(await drain(first) == ["1:run 1"])

        // Nothing is replayed: a subscriber after close() sees only what is published next.
        let second = hub.subscribe()
        hub.publish(Array("run 2".utf8), stream: .stderr)
        hub.close()
        #expect(await drain(second) == ["2:run 2"])
    }

    @Test func shutdownEndsLaterSubscriptionsImmediately() async {
        let hub = OutputHub()
        let before = hub.subscribe()
        hub.publish(Array("last".utf8), stream: .stdout)
        hub.shutdown()
        #expect(await drain(before) == ["1:last"])

        let after = hub.subscribe()
        hub.publish(Array("ignored".utf8), stream: .stdout)
        #expect(await drain(after).isEmpty)
        hub.close()
        #expect(await drain(hub.subscribe()).isEmpty)
    }

    @Test func aCancelledSubscriberStopsReceivingWithoutAffectingOthers() async {
        let hub = OutputHub()
        let kept = hub.subscribe()
        let dropped = hub.subscribe()
        let task = Task { await drain(dropped) }
        task.cancel()
        _ = await task.value
        hub.publish(Array("after".utf8), stream: .stdout)
        hub.close()
        #expect(await drain(kept) == ["1:after"])
    }

    @Test func streamNumbersMatchDockersMultiplexing() {
        #expect(OutputHub.Stream.stdin.rawValue == 0)
        #expect(OutputHub.Stream.stdout.rawValue == 1)
        #expect(OutputHub.Stream.stderr.rawValue == 2)
    }

    /// The shim sends output to the daemon only while it is wanted: the hub says when that changes.
    @Test func demandFollowsTheFirstAndLastSubscriber() async {
        let hub = OutputHub()
        let seen = Mutex<[Bool]>([])
        hub.onDemandChange { wanted in seen.withLock { $0.append(wanted) } }
        #expect(seen.withLock { $0 } == [false], "the current state is told at once")
        let a = hub.subscribe()
        let b = hub.subscribe()
        #expect(seen.withLock { $0 } == [false, true], "only the first subscriber turns it on")
        let readA = Task { for await _ in a {} }
        readA.cancel()
        await readA.value
        #expect(seen.withLock { $0 } == [false, true], "one subscriber is left")
        let readB = Task { for await _ in b {} }
        readB.cancel()
        await readB.value
        #expect(seen.withLock { $0 } == [false, true, false])
        #expect(!hub.hasSubscribers)
        // A new session takes over the handler and learns the state.
        let c = hub.subscribe()
        let other = Mutex<[Bool]>([])
        hub.onDemandChange { wanted in other.withLock { $0.append(wanted) } }
        #expect(other.withLock { $0 } == [true])
        hub.close()
        for await _ in c {}
    }
}
