/// One line of the json-file log, `{"log":"text\n","stream":"stdout","time":"…"}`, written and read at the byte
/// level: the shim writes one per line of output and `logs` reads them back, so neither goes through `String`
/// or a general JSON parser (which would cap logging at a few MB/s).
public enum JSONLogLine {
    /// What follows a line's text: `","stream":"STREAM","time":"TIME"}` and the newline. The shim makes it once
    /// per read and reuses it for every line in it.
    public static func suffix(stream: String, time: [UInt8]) -> [UInt8] {
        var out = Array(#"","stream":""#.utf8)
        out.append(contentsOf: stream.utf8)
        out.append(contentsOf: #"","time":""#.utf8)
        out.append(contentsOf: time)
        out.append(contentsOf: "\"}\n".utf8)
        return out
    }

    /// Appends the line for `text` to `out`. Invalid UTF-8 becomes U+FFFD, as Go's encoder (and so Docker) does.
    public static func encode(_ text: ArraySlice<UInt8>, stream: String, time: [UInt8], into out: inout [UInt8]) {
        let end = suffix(stream: stream, time: time)
        text.withUnsafeBufferPointer { t in end.withUnsafeBufferPointer { encode(t, suffix: $0, into: &out) } }
    }

    /// `encode` with the suffix made beforehand, into an array.
    public static func encode(
        _ text: UnsafeBufferPointer<UInt8>, suffix: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]
    ) {
        let room = maxEncodedCount(text.count, suffixCount: suffix.count)
        let old = out.count
        out.append(contentsOf: repeatElement(0, count: room))
        let written = out.withUnsafeMutableBufferPointer { all in
            all.baseAddress.map { encode(text, suffix: suffix, to: $0 + old) } ?? 0
        }
        out.removeSubrange((old + written)...)
    }

    /// The most bytes the line for `count` bytes of text can take (every byte escaped as `\u00XX`).
    public static func maxEncodedCount(_ count: Int, suffixCount: Int) -> Int { 8 + 6 * count + suffixCount }

    /// The logging loop: writes the line for `text` at `dst`, which has room for `maxEncodedCount` bytes, on raw
    /// bytes (no bounds checks or appends per byte). Returns the number of bytes written.
    public static func encode(
        _ text: UnsafeBufferPointer<UInt8>, suffix: UnsafeBufferPointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>
    ) -> Int {
        // {"log":"
        dst[0] = 0x7B
        dst[1] = 0x22
        dst[2] = UInt8(ascii: "l")
        dst[3] = UInt8(ascii: "o")
        dst[4] = UInt8(ascii: "g")
        dst[5] = 0x22
        dst[6] = UInt8(ascii: ":")
        dst[7] = 0x22
        var o = 8
        if let base = text.baseAddress {
            let n = text.count
            var i = 0
            while i < n {
                // A run of plain ASCII is copied at once.
                let j = plainRunEnd(base, from: i, count: n)
                if j > i {
                    (dst + o).update(from: base + i, count: j - i)
                    o += j - i
                }
                if j == n { break }
                let b = base[j]
                i = j + 1
                switch b {
                case 0x22, 0x5C:
                    dst[o] = 0x5C
                    dst[o + 1] = b
                    o += 2
                case 0x0A:
                    dst[o] = 0x5C
                    dst[o + 1] = UInt8(ascii: "n")
                    o += 2
                case 0x0D:
                    dst[o] = 0x5C
                    dst[o + 1] = UInt8(ascii: "r")
                    o += 2
                case 0x09:
                    dst[o] = 0x5C
                    dst[o + 1] = UInt8(ascii: "t")
                    o += 2
                case 0..<0x20:
                    dst[o] = 0x5C
                    dst[o + 1] = UInt8(ascii: "u")
                    dst[o + 2] = 0x30
                    dst[o + 3] = 0x30
                    dst[o + 4] = hexDigit(b >> 4)
                    dst[o + 5] = hexDigit(b & 15)
                    o += 6
                default:
                    let len = utf8Length(base, j, n)
                    if len > 0 {
                        (dst + o).update(from: base + j, count: len)
                        o += len
                        i = j + len
                    } else {  // U+FFFD
                        dst[o] = 0xEF
                        dst[o + 1] = 0xBF
                        dst[o + 2] = 0xBD
                        o += 3
                    }
                }
            }
        }
        if let end = suffix.baseAddress {
            (dst + o).update(from: end, count: suffix.count)
            o += suffix.count
        }
        return o
    }

    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : UInt8(ascii: "a") + v - 10 }

    // Eight bytes at a time (SWAR): whether any byte of `x` is below `n` (n <= 0x80), or equal to `b`.
    @inline(__always) static func anyBelow(_ x: UInt64, _ n: UInt8) -> Bool {
        (x &- 0x0101_0101_0101_0101 &* UInt64(n)) & ~x & 0x8080_8080_8080_8080 != 0
    }
    @inline(__always) static func anyEqual(_ x: UInt64, _ b: UInt8) -> Bool {
        anyBelow(x ^ (0x0101_0101_0101_0101 &* UInt64(b)), 1)
    }

    /// Where the run of bytes that JSON takes as they are (printable ASCII but `"` and `\`) starting at `i` ends.
    @inline(__always) static func plainRunEnd(_ p: UnsafePointer<UInt8>, from i: Int, count n: Int) -> Int {
        var j = i
        let raw = UnsafeRawPointer(p)
        while j + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            if x & 0x8080_8080_8080_8080 != 0 || anyBelow(x, 0x20) || anyEqual(x, 0x22) || anyEqual(x, 0x5C) { break }
            j += 8
        }
        while j < n {
            let c = p[j]
            if c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5C { break }
            j += 1
        }
        return j
    }

    /// Where the next `"` or `\` at or after `i` is (`n` when there is none).
    @inline(__always) static func quoteOrBackslash(_ p: UnsafePointer<UInt8>, from i: Int, count n: Int) -> Int {
        var j = i
        let raw = UnsafeRawPointer(p)
        while j + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            if anyEqual(x, 0x22) || anyEqual(x, 0x5C) { break }
            j += 8
        }
        while j < n, p[j] != 0x22, p[j] != 0x5C { j += 1 }
        return j
    }

    /// The length of the valid UTF-8 sequence starting at `i` (a byte >= 0x80) of the `n` bytes at `s`, 0 when
    /// it is not one.
    static func utf8Length(_ s: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int {
        let b = s[i]
        let (n, low, high): (Int, UInt8, UInt8)
        switch b {
        case 0xC2...0xDF: (n, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (n, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (n, low, high) = (3, 0x80, 0xBF)
        case 0xED: (n, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (n, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (n, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (n, low, high) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard i + n <= count, s[i + 1] >= low, s[i + 1] <= high else { return 0 }
        for k in 2..<n where s[i + k] < 0x80 || s[i + k] > 0xBF { return 0 }
        return n
    }

    public struct Entry: Equatable, Sendable {
        public var log: [UInt8]
        public var stream: String
        public var time: String
    }

    /// Reads a line this encoder wrote (or Docker's json-file); nil for anything else.
    public static func decode(_ line: ArraySlice<UInt8>) -> Entry? {
        var log: [UInt8] = []
        guard let (stream, time) = decode(line, appendingLogTo: &log) else { return nil }
        return Entry(
            log: log, stream: String(decoding: stream, as: UTF8.self), time: String(decoding: time, as: UTF8.self))
    }

    /// The fast path of `logs`: appends the line's text to `out` and returns its stream and time (as bytes of the
    /// line), without allocating per line; nil (and nothing appended) for a line it cannot read.
    public static func decode(_ line: ArraySlice<UInt8>, appendingLogTo out: inout [UInt8]) -> (
        stream: ArraySlice<UInt8>, time: ArraySlice<UInt8>
    )? {
        let mark = out.count
        let fields = line.withUnsafeBufferPointer { decode($0, appendingLogTo: &out) }
        guard let (stream, time) = fields else {
            out.removeSubrange(mark...)
            return fallback(line, &out)
        }
        let base = line.startIndex
        return (
            line[(base + stream.lowerBound)..<(base + stream.upperBound)],
            line[(base + time.lowerBound)..<(base + time.upperBound)]
        )
    }

    /// The byte-level reader on raw bytes: the text goes to `out`, the stream and time come back as offsets into
    /// `line`. Nil for a layout it does not take (another key order, `\u` escapes, `attrs`): the caller removes
    /// what was appended and uses the general parser.
    public static func decode(_ line: UnsafeBufferPointer<UInt8>, appendingLogTo out: inout [UInt8]) -> (
        stream: Range<Int>, time: Range<Int>
    )? {
        guard let p = line.baseAddress else { return nil }
        let n = line.count
        // The keys are compared as little-endian words (no array access per byte on the hot path).
        let raw = UnsafeRawPointer(p)
        guard n >= 8, raw.loadUnaligned(as: UInt64.self) == 0x223a_2267_6f6c_227b else { return nil }  // {"log":"
        var i = 8
        while true {
            let j = quoteOrBackslash(p, from: i, count: n)
            if j > i { out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: j - i)) }
            guard j + 1 < n else { return nil }
            if p[j] == 0x22 {
                i = j
                break
            }
            switch p[j + 1] {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case 0x22, 0x5C, 0x2F: out.append(p[j + 1])
            default: return nil
            }
            i = j + 2
        }
        // ","stream":"
        guard i + 12 <= n, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) == 0x6165_7274_7322_2c22,
            raw.loadUnaligned(fromByteOffset: i + 8, as: UInt32.self) == 0x223a_226d
        else { return nil }
        let streamStart = i + 12
        var j = streamStart
        while j < n, p[j] != 0x22 { j += 1 }
        // ","time":"
        guard j + 10 <= n, raw.loadUnaligned(fromByteOffset: j, as: UInt64.self) == 0x2265_6d69_7422_2c22,
            raw.loadUnaligned(fromByteOffset: j + 8, as: UInt16.self) == 0x223a
        else { return nil }
        let timeStart = j + 10
        var k = timeStart
        while k < n, p[k] != 0x22 { k += 1 }
        return (streamStart..<j, timeStart..<k)
    }

    /// Any other layout (escapes the fast path does not take, other key orders, Docker's `attrs`): the general
    /// JSON parser.
    static func fallback(_ line: ArraySlice<UInt8>, _ out: inout [UInt8]) -> (
        stream: ArraySlice<UInt8>, time: ArraySlice<UInt8>
    )? {
        guard let json = try? JSONValue.parse(bytes: Array(line)), let log = json["log"]?.stringValue else {
            return nil
        }
        out.append(contentsOf: log.utf8)
        return (
            Array((json["stream"]?.stringValue ?? "").utf8)[...], Array((json["time"]?.stringValue ?? "").utf8)[...]
        )
    }
}
