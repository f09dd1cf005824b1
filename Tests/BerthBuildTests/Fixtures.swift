import BerthBuild
import BerthCore
import Foundation
import Testing

/// Sample files in `Fixtures/` next to the tests (no bundle resources needed), and shared expectations.
enum Fixtures {
    static func read(_ name: String, file: String = #filePath) throws -> String {
        let directory = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
        return try String(contentsOfFile: directory + "/Fixtures/" + name, encoding: .utf8)
    }

    /// The instructions after `FROM scratch`, for tests of one instruction.
    static func instructions(_ text: String) throws -> [Instruction] {
        try Dockerfile.parse("FROM scratch\n" + text).stages[0].instructions
    }

    /// The one instruction `text` holds (after a `FROM scratch` line the helper adds).
    static func instruction(_ text: String) throws -> Instruction {
        let all = try instructions(text)
        guard all.count == 1, let first = all.first else { throw BerthError.internalError("\(all.count) instructions") }
        return first
    }

    /// Expects `Dockerfile.parse(text)` to fail with `.invalidArgument` and exactly `message`.
    static func expectParseError(
        _ text: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let parsed = try Dockerfile.parse(text)
            Issue.record("parsed \(parsed.instructions.count) instructions", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .invalidArgument, sourceLocation: sourceLocation)
            #expect(error.message == message, sourceLocation: sourceLocation)
        }
    }
}
