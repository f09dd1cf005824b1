import Testing

@testable import BerthCore

struct ByteSizeTests {
    @Test func parsesDockerSizes() throws {
        #expect(try ByteSize.parse("64m") == 64 * 1024 * 1024)
        #expect(try ByteSize.parse("1g") == 1024 * 1024 * 1024)
        #expect(try ByteSize.parse("512k") == 512 * 1024)
        #expect(try ByteSize.parse("1024") == 1024)
        #expect(try ByteSize.parse("1.5g") == 1_610_612_736)
        #expect(try ByteSize.parse("10b") == 10)
        #expect(try ByteSize.parse("2t") == 2 * 1024 * 1024 * 1024 * 1024)
        #expect(try ByteSize.parse("1p") == 1024 * 1024 * 1024 * 1024 * 1024)
        #expect(try ByteSize.parse("0") == 0)
    }

    @Test func unitsAreCaseInsensitiveWithOptionalTrailingB() throws {
        #expect(try ByteSize.parse("64M") == 64 * 1024 * 1024)
        #expect(try ByteSize.parse("64mb") == 64 * 1024 * 1024)
        #expect(try ByteSize.parse("512KB") == 512 * 1024)
        #expect(try ByteSize.parse(" 1g ") == 1024 * 1024 * 1024)
    }

    @Test(arguments: ["12zz", "", "   ", "-1", "-5m", "m", "kb", "1.2.3k", "abc", "nan", "inf"])
    func rejectsMalformedSizes(_ text: String) {
        do {
            let n = try ByteSize.parse(text)
            Issue.record("'\(text)' parsed as \(n)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "invalid size: '\(text)'")
        }
    }
}
