import BerthAPIClient
import Testing

struct StreamDemultiplexerTests {
    typealias Frame = StreamDemultiplexer.Frame

    /// The frames `docker attach` received in the wire trace (engine-api.md §1.3).
    static let traced: [UInt8] =
        [1, 0, 0, 0, 0, 0, 0, 13] + Array("attached-out\n".utf8) + [2, 0, 0, 0, 0, 0, 0, 13]
        + Array("attached-err\n".utf8)

    @Test func splitsTracedFrames() {
        var demux = StreamDemultiplexer()
        let frames = demux.feed(Self.traced)
        #expect(
            frames == [
                Frame(stream: 1, payload: Array("attached-out\n".utf8)),
                Frame(stream: 2, payload: Array("attached-err\n".utf8)),
            ])
        #expect(!demux.hasPartialFrame)
    }

    @Test func handlesAnySplitOfTheInput() {
        for cut in 0...Self.traced.count {
            var demux = StreamDemultiplexer()
            let frames = demux.feed(Self.traced[..<cut]) + demux.feed(Self.traced[cut...])
            #expect(frames.count == 2, "cut at \(cut)")
            #expect(frames.map(\.stream) == [1, 2])
        }
        var demux = StreamDemultiplexer()
        var frames: [Frame] = []
        for byte in Self.traced { frames += demux.feed([byte]) }
        #expect(frames.map { String(decoding: $0.payload, as: UTF8.self) } == ["attached-out\n", "attached-err\n"])
    }

    @Test func encodesAndDecodesLargeAndEmptyFrames() {
        let big = [UInt8](repeating: 0x61, count: 70_000)
        let bytes =
            StreamDemultiplexer.encode(stream: 1, big) + StreamDemultiplexer.encode(stream: 3, [])
            + StreamDemultiplexer.encode(stream: 2, [0x62])
        #expect(Array(bytes[4..<8]) == [0, 1, 0x11, 0x70])
        var demux = StreamDemultiplexer()
        let frames = demux.feed(bytes)
        #expect(frames.count == 3)
        #expect(frames[0].payload.count == 70_000)
        #expect(frames[1] == Frame(stream: 3, payload: []))
        #expect(frames[2] == Frame(stream: 2, payload: [0x62]))
    }

    @Test func keepsAPartialFrame() {
        var demux = StreamDemultiplexer()
        #expect(demux.feed([1, 0, 0, 0, 0, 0, 0, 5, 0x68]).isEmpty)
        #expect(demux.hasPartialFrame)
        #expect(demux.feed(Array("ello".utf8)) == [Frame(stream: 1, payload: Array("hello".utf8))])
    }

    /// `logs` writes runs of same-stream frames at once, from a reused buffer, in any split of the input.
    @Test func feedRunsJoinsSameStreamFramesAndStopsWhenTheWriterDoes() {
        let bytes =
            StreamDemultiplexer.encode(stream: 1, Array("a\n".utf8))
            + StreamDemultiplexer.encode(stream: 1, Array("b\n".utf8))
            + StreamDemultiplexer.encode(stream: 2, Array("e\n".utf8))
            + StreamDemultiplexer.encode(stream: 1, Array("c\n".utf8))
        for cut in 0...bytes.count {
            var demux = StreamDemultiplexer()
            var out: [String] = []
            for part in [Array(bytes[..<cut]), Array(bytes[cut...])] {
                #expect(
                    demux.feedRuns(part) { s, p in
                        out.append("\(s):" + String(decoding: p, as: UTF8.self)); return true
                    })
            }
            #expect(out.map { $0.dropFirst(2) }.joined() == "a\nb\ne\nc\n", "cut at \(cut)")
            #expect(out.filter { $0.hasPrefix("2:") } == ["2:e\n"], "cut at \(cut)")
            if cut == 0 || cut == bytes.count { #expect(out == ["1:a\nb\n", "2:e\n", "1:c\n"]) }
        }
        var demux = StreamDemultiplexer()
        var calls = 0
        #expect(
            !demux.feedRuns(bytes) { _, _ in
                calls += 1; return false
            })
        #expect(calls == 1)
    }
}
