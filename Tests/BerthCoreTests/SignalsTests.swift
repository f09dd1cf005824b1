import Testing

@testable import BerthCore

struct SignalsTests {
    @Test(arguments: [
        ("TERM", Int32(15)), ("SIGKILL", 9), ("9", 9), ("sigusr1", 10), ("usr2", 12), ("HUP", 1), ("SIGIOT", 6),
        ("winch", 28), ("RTMIN+2", 36), ("SIGRTMIN+0", 34), ("rtmin+30", 64), ("64", 64), ("1", 1),
    ])
    func parses(_ text: String, _ number: Int32) throws {
        #expect(try Signals.parse(text) == number)
    }

    @Test(arguments: ["bad", "", "0", "65", "-9", "SIG", "RTMIN+31", "RTMIN+x", "SIGTERM ", "KILL9"])
    func rejects(_ text: String) {
        do {
            let n = try Signals.parse(text)
            Issue.record("'\(text)' parsed as \(n)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "invalid signal: \(text)")
        }
    }
}
