import Foundation

/// Golden and snapshot files next to the tests (no bundle resources needed).
enum Fixtures {
    static func directory(_ file: String = #filePath) -> String {
        String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
    }

    /// The text of `Golden/…` or `Snapshots/…`.
    static func read(_ relativePath: String) throws -> String {
        try String(contentsOfFile: directory() + "/" + relativePath, encoding: .utf8)
    }

    /// With `BERTH_UPDATE_SNAPSHOTS=1`, rewrites the file instead of comparing (for an intended change).
    static var updating: Bool { ProcessInfo.processInfo.environment["BERTH_UPDATE_SNAPSHOTS"] == "1" }

    static func write(_ relativePath: String, _ text: String) throws {
        try text.write(toFile: directory() + "/" + relativePath, atomically: true, encoding: .utf8)
    }
}
