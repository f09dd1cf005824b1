import BerthCore
import Testing

struct JSONLogLineTests {
    func encode(_ bytes: [UInt8], stream: String = "stdout") -> String {
        var out: [UInt8] = []
        JSONLogLine.encode(bytes[...], stream: stream, time: Array("T".utf8), into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func encodesAsDockerDoes() {
        #expect(encode(Array("hello\n".utf8)) == #"{"log":"hello\n","stream":"stdout","time":"T"}"# + "\n")
        #expect(
            encode(Array("q\"b\\t\t\r\u{1}\n".utf8)) == #"{"log":"q\"b\\t\t\r\u0001\n","stream":"stdout","time":"T"}"#
                + "\n")
        #expect(encode(Array("héllo €😀".utf8), stream: "stderr").contains("héllo €😀"))
        // Invalid UTF-8 becomes U+FFFD.
        #expect(encode([0x61, 0xFF, 0x62, 0xC3]) == #"{"log":"a�b�","stream":"stdout","time":"T"}"# + "\n")
    }

    @Test func decodesWhatItEncodesAndDockersLines() throws {
        for text in ["plain\n", "tab\there \"quoted\" back\\slash\n", "ü ß 😀\n", "\u{7}bell", ""] {
            var out: [UInt8] = []
            JSONLogLine.encode(Array(text.utf8)[...], stream: "stderr", time: Array("2026".utf8), into: &out)
            let e = try #require(JSONLogLine.decode(out.dropLast()))
            #expect(e.log == Array(text.utf8))
            #expect(e.stream == "stderr" && e.time == "2026")
        }
        let docker = #"{"log":"caf\u00e9 \ud83d\ude00\n","stream":"stdout","time":"2026-11-29T10:00:00.1Z"}"#
        let e = try #require(JSONLogLine.decode(Array(docker.utf8)[...]))
        #expect(String(decoding: e.log, as: UTF8.self) == "café 😀\n")
        #expect(JSONLogLine.decode(Array("not json".utf8)[...]) == nil)
        #expect(JSONLogLine.decode(Array(#"{"log":"x""#.utf8)[...]) == nil)
    }

    @Test func appendingDecoderMatchesTheGeneralOne() throws {
        for text in ["plain\n", "esc \"q\" \\ \t\n", "ü 😀\n", "\u{1}ctl\n"] {
            var line: [UInt8] = []
            JSONLogLine.encode(Array(text.utf8)[...], stream: "stderr", time: Array("TIME".utf8), into: &line)
            var out: [UInt8] = Array("prefix:".utf8)
            let r = try #require(JSONLogLine.decode(line.dropLast(), appendingLogTo: &out))
            #expect(String(decoding: out, as: UTF8.self) == "prefix:" + text)
            #expect(Array(r.stream) == Array("stderr".utf8) && Array(r.time) == Array("TIME".utf8))
        }
        var out: [UInt8] = []
        #expect(JSONLogLine.decode(Array("garbage".utf8)[...], appendingLogTo: &out) == nil && out.isEmpty)
    }

    /// The byte-level reader must take every line the encoder writes (it once fell back to the general JSON
    /// parser for all of them, unnoticed but for the speed), and the eight-bytes-at-a-time scans must find
    /// a special byte at any position.
    @Test func fastPathReadsEveryEncodedLineWithSpecialBytesAnywhere() throws {
        for length in 0..<40 {
            for position in 0...length {
                for special: UInt8 in [0x22, 0x5C, 0x0A, 0x09, 0x01, 0xC3] {
                    var text = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                    text.insert(special, at: position)
                    if special == 0xC3 { text.insert(0xA9, at: position + 1) }  // é
                    var line: [UInt8] = []
                    JSONLogLine.encode(text[...], stream: "stdout", time: Array("T".utf8), into: &line)
                    let expectedLine = try JSONValue.parse(bytes: Array(line.dropLast()))
                    #expect(expectedLine["log"]?.stringValue == String(decoding: text, as: UTF8.self))
                    var out: [UInt8] = []
                    let fields = line.dropLast().withUnsafeBufferPointer {
                        JSONLogLine.decode($0, appendingLogTo: &out)
                    }
                    if special == 0x01 {
                        #expect(fields == nil, "\\u escapes are left to the general parser")
                        continue
                    }
                    let (stream, time) = try #require(fields, "length \(length) position \(position) byte \(special)")
                    #expect(out == text)
                    #expect(Array(line[stream]) == Array("stdout".utf8) && Array(line[time]) == Array("T".utf8))
                }
            }
        }
    }
}
