/// Splits Docker's multiplexed attach/logs stream into its frames.
///
/// Each frame is an 8-byte header (byte 0: 0 stdin, 1 stdout, 2 stderr, 3 system error; bytes 1–3 zero;
/// bytes 4–7 the payload length, big-endian) followed by the payload (moby `pkg/stdcopy`). Bytes arrive in
/// arbitrary pieces, so the decoder keeps a partial frame until the rest comes. Used when the container has no
/// TTY; with a TTY the stream is raw and needs no decoding.
public struct StreamDemultiplexer: Sendable {
    /// One decoded frame.
    public struct Frame: Sendable, Equatable {
        public var stream: UInt8
        public var payload: [UInt8]

        public init(stream: UInt8, payload: [UInt8]) {
            self.stream = stream
            self.payload = payload
        }
    }

    public static let stdin: UInt8 = 0
    public static let stdout: UInt8 = 1
    public static let stderr: UInt8 = 2
    public static let systemError: UInt8 = 3

    private var buffer: [UInt8] = []
    private var start = 0
    /// The run of payloads `feedRuns` is joining (kept for its capacity).
    private var run: [UInt8] = []

    public init() {}

    /// True when a partial frame is waiting for more bytes (a stream that ends here was cut short).
    public var hasPartialFrame: Bool { start < buffer.count }

    /// Adds bytes and returns every frame they complete, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Frame] {
        var frames: [Frame] = []
        consume(bytes) { stream, payload in frames.append(Frame(stream: stream, payload: Array(payload))) }
        return frames
    }

    /// Like `feed`, with consecutive frames of the same stream joined, so that a client writes a burst of lines
    /// with one call. Payloads are copied once, straight from the buffer into the run they belong to.
    public mutating func feedJoined(_ bytes: some Collection<UInt8>) -> [Frame] {
        var joined: [Frame] = []
        consume(bytes) { stream, payload in
            if let last = joined.last, last.stream == stream {
                joined[joined.count - 1].payload.append(contentsOf: payload)
            } else {
                joined.append(Frame(stream: stream, payload: Array(payload)))
            }
        }
        return joined
    }

    /// Like `feedJoined` without an array per run: `body` gets each run of same-stream payloads, joined in a
    /// buffer that is reused. Returns false as soon as `body` does.
    public mutating func feedRuns(_ bytes: [UInt8], _ body: (UInt8, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var stream: UInt8 = 0
        var ok = true
        var run = self.run
        run.removeAll(keepingCapacity: true)
        consume(bytes) { s, payload in
            guard ok else { return }
            if !run.isEmpty, s != stream {
                ok = run.withUnsafeBufferPointer { body(stream, $0) }
                run.removeAll(keepingCapacity: true)
            }
            stream = s
            run.append(contentsOf: payload)
        }
        if ok, !run.isEmpty { ok = run.withUnsafeBufferPointer { body(stream, $0) } }
        run.removeAll(keepingCapacity: true)
        self.run = run
        return ok
    }

    /// Calls `body` with each frame the bytes complete, then drops what was consumed.
    private mutating func consume(_ bytes: some Collection<UInt8>, _ body: (UInt8, ArraySlice<UInt8>) -> Void) {
        buffer.append(contentsOf: bytes)
        while buffer.count - start >= 8 {
            let length =
                Int(buffer[start + 4]) << 24 | Int(buffer[start + 5]) << 16 | Int(buffer[start + 6]) << 8
                | Int(buffer[start + 7])
            guard buffer.count - start - 8 >= length else { break }
            body(buffer[start], buffer[(start + 8)..<(start + 8 + length)])
            start += 8 + length
        }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// Encodes one frame (for tests and for servers).
    public static func encode(stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
            + payload
    }
}
