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
        // The usual layout first, without building keys: {"log":"…","stream":"stdout","time":"…"}
        if line.starts(with: logPrefix) {
            var i = line.startIndex + logPrefix.count
            var log: [UInt8] = []
            log.reserveCapacity(line.count)
            var ok = false
            while i < line.endIndex {
                let start = i
                while i < line.endIndex, line[i] != 0x22, line[i] != 0x5C { i += 1 }
                log.append(contentsOf: line[start..<i])
                guard i < line.endIndex else { break }
                if line[i] == 0x22 {
                    ok = true
                    break
                }
                // An escape: the general reader handles the rare ones.
                guard i + 1 < line.endIndex else { break }
                switch line[i + 1] {
                case UInt8(ascii: "n"): log.append(0x0A)
                case UInt8(ascii: "t"): log.append(0x09)
                case UInt8(ascii: "r"): log.append(0x0D)
                case 0x22, 0x5C, 0x2F: log.append(line[i + 1])
                default: return decodeGeneral(line)
                }
                i += 2
            }
            if ok, line[i...].starts(with: streamKey) {
                var j = i + streamKey.count
                let streamStart = j
                while j < line.endIndex, line[j] != 0x22 { j += 1 }
                let stream = line[streamStart..<j]
                if line[j...].starts(with: timeKey) {
                    let timeStart = j + timeKey.count
                    var k = timeStart
                    while k < line.endIndex, line[k] != 0x22 { k += 1 }
                    if k + 1 < line.endIndex, line[k + 1] == 0x7D {
                        let name =
                            stream.elementsEqual("stdout".utf8)
                            ? "stdout"
                            : stream.elementsEqual("stderr".utf8) ? "stderr" : String(decoding: stream, as: UTF8.self)
                        return Entry(log: log, stream: name, time: String(decoding: line[timeStart..<k], as: UTF8.self))
                    }
                }
            }
        }
        return decodeGeneral(line)
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

    static func fallback(_ line: ArraySlice<UInt8>, _ out: inout [UInt8]) -> (
        stream: ArraySlice<UInt8>, time: ArraySlice<UInt8>
    )? {
        guard let e = decodeGeneral(line) else { return nil }
        out.append(contentsOf: e.log)
        return (Array(e.stream.utf8)[...], Array(e.time.utf8)[...])
    }

    static func decodeGeneral(_ line: ArraySlice<UInt8>) -> Entry? {
        var i = line.startIndex
        let end = line.endIndex
        var entry = Entry(log: [], stream: "", time: "")
        func skip(_ c: UInt8) -> Bool {
            while i < end, line[i] == 0x20 { i += 1 }
            guard i < end, line[i] == c else { return false }
            i += 1
            return true
        }
        func string() -> [UInt8]? {
            guard skip(0x22) else { return nil }
            var out: [UInt8] = []
            while i < end {
                let start = i
                while i < end, line[i] != 0x22, line[i] != 0x5C { i += 1 }
                out.append(contentsOf: line[start..<i])
                guard i < end else { return nil }
                if line[i] == 0x22 {
                    i += 1
                    return out
                }
                i += 1
                guard i < end else { return nil }
                let e = line[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard i + 4 <= end, var v = UInt32(String(decoding: line[i..<i + 4], as: UTF8.self), radix: 16)
                    else { return nil }
                    i += 4
                    // A surrogate pair.
                    if v >= 0xD800, v < 0xDC00, i + 6 <= end, line[i] == 0x5C, line[i + 1] == UInt8(ascii: "u"),
                        let low = UInt32(String(decoding: line[i + 2..<i + 6], as: UTF8.self), radix: 16),
                        low >= 0xDC00, low < 0xE000
                    {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
                default: out.append(e)
                }
            }
            return nil
        }
        guard skip(0x7B) else { return nil }
        while true {
            guard let key = string(), skip(0x3A) else { return nil }
            guard key.elementsEqual("log".utf8) || key.elementsEqual("stream".utf8) || key.elementsEqual("time".utf8)
            else {
                return nil  // attrs and the like are not written by Berth
            }
            guard let value = string() else { return nil }
            if key.first == UInt8(ascii: "l") {
                entry.log = value
            } else if key.first == UInt8(ascii: "s") {
                entry.stream = String(decoding: value, as: UTF8.self)
            } else {
                entry.time = String(decoding: value, as: UTF8.self)
            }
            if skip(0x7D) { return entry }
            guard skip(0x2C) else { return nil }
        }
    }
}
