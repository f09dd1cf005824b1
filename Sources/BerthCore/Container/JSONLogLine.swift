/// One line of the json-file log, `{"log":"text\n","stream":"stdout","time":"…"}`, written and read at the byte
/// level: the shim writes one per line of output and `logs` reads them back, so neither goes through `String`
/// or a general JSON parser (which would cap logging at a few MB/s).
public enum JSONLogLine {
    static let hex = Array("0123456789abcdef".utf8)

    /// Appends the line for `text` to `out`. Invalid UTF-8 becomes U+FFFD, as Go's encoder (and so Docker) does.
    public static func encode(_ text: ArraySlice<UInt8>, stream: String, time: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: #"{"log":""#.utf8)
        var i = text.startIndex
        let end = text.endIndex
        while i < end {
            let b = text[i]
            if b >= 0x20, b < 0x80, b != 0x22, b != 0x5C {
                // A run of plain ASCII is copied at once.
                var j = i + 1
                while j < end {
                    let c = text[j]
                    if c < 0x20 || c >= 0x80 || c == 0x22 || c == 0x5C { break }
                    j += 1
                }
                out.append(contentsOf: text[i..<j])
                i = j
                continue
            }
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default:
                let n = utf8Length(text, at: i)
                if n > 0 {
                    out.append(contentsOf: text[i..<i + n])
                    i += n
                    continue
                }
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            }
            i += 1
        }
        out.append(contentsOf: #"","stream":""#.utf8)
        out.append(contentsOf: stream.utf8)
        out.append(contentsOf: #"","time":""#.utf8)
        out.append(contentsOf: time)
        out.append(contentsOf: "\"}\n".utf8)
    }

    /// The length of the valid UTF-8 sequence starting at `i` (a byte >= 0x80), 0 when it is not one.
    static func utf8Length(_ s: ArraySlice<UInt8>, at i: Int) -> Int {
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
        guard i + n <= s.endIndex, s[i + 1] >= low, s[i + 1] <= high else { return 0 }
        for k in 2..<n where s[i + k] < 0x80 || s[i + k] > 0xBF { return 0 }
        return n
    }

    public struct Entry: Equatable, Sendable {
        public var log: [UInt8]
        public var stream: String
        public var time: String
    }

    static let logPrefix = Array(#"{"log":""#.utf8)
    static let streamKey = Array(#","stream":""#.utf8)
    static let timeKey = Array(#"","time":""#.utf8)

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
        guard line.starts(with: logPrefix) else { return fallback(line, &out) }
        let mark = out.count
        var i = line.startIndex + logPrefix.count
        while i < line.endIndex {
            let start = i
            while i < line.endIndex, line[i] != 0x22, line[i] != 0x5C { i += 1 }
            out.append(contentsOf: line[start..<i])
            guard i < line.endIndex else { break }
            if line[i] == 0x22 { break }
            guard i + 1 < line.endIndex else { break }
            switch line[i + 1] {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case 0x22, 0x5C, 0x2F: out.append(line[i + 1])
            default:
                out.removeSubrange(mark...)
                return fallback(line, &out)
            }
            i += 2
        }
        guard i < line.endIndex, line[i...].starts(with: streamKey) else {
            out.removeSubrange(mark...)
            return fallback(line, &out)
        }
        var j = i + streamKey.count
        let streamStart = j
        while j < line.endIndex, line[j] != 0x22 { j += 1 }
        guard line[j...].starts(with: timeKey) else {
            out.removeSubrange(mark...)
            return fallback(line, &out)
        }
        let timeStart = j + timeKey.count
        var k = timeStart
        while k < line.endIndex, line[k] != 0x22 { k += 1 }
        return (line[streamStart..<j], line[timeStart..<k])
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
