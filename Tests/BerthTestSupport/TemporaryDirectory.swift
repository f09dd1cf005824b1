import BerthOS
import Foundation
import Glibc

/// Creates a fresh directory `/var/tmp/berth-test-XXXXXX`, runs `body` with its path, then removes it (after
/// detaching any mount left below it) even when `body` throws.
public func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = try makeTemporaryDirectory()
    defer { removeTemporaryDirectory(dir) }
    return try body(dir)
}

/// The `async` variant of `withTemporaryDirectory`: the directory is removed after `body` returns or throws.
public func withTemporaryDirectory<T>(
    isolation: isolated (any Actor)? = #isolation, _ body: (String) async throws -> T
) async throws -> T {
    let dir = try makeTemporaryDirectory()
    defer { removeTemporaryDirectory(dir) }
    return try await body(dir)
}

/// A new empty directory under `/var/tmp` (not `/tmp`: it may be a tmpfs without xattr or overlay support).
public func makeTemporaryDirectory(prefix: String = "berth-test-") throws -> String {
    var template = Array("/var/tmp/\(prefix)XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkdtemp($0) } ?? nil }
    guard made != nil else { throw TestSupportError("mkdtemp failed: errno \(errno)") }
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Detaches every mount at or below `dir` (deepest first), then removes the tree. Never follows symlinks, so a
/// test that leaves a mount behind cannot make the cleanup delete through it.
public func removeTemporaryDirectory(_ dir: String) {
    for mountPoint in mountPoints(under: dir).sorted(by: { $0.count > $1.count }) {
        if umount2(mountPoint, 0) != 0 { umount2(mountPoint, Int32(MNT_DETACH)) }
    }
    if !mountPoints(under: dir).isEmpty { return }  // never delete through a mount that would not go away
    try? FileSystem.removeTree(dir)
}

/// Mount points of this mount namespace at or below `dir`, from `/proc/self/mountinfo`.
public func mountPoints(under dir: String) -> [String] {
    guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count > 4 else { return nil }
        let point = unescapeMountinfo(String(fields[4]))
        return point == dir || point.hasPrefix(dir + "/") ? point : nil
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
private func unescapeMountinfo(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    var out: [UInt8] = []
    let bytes = Array(s.utf8)
    var i = 0
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
            let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
        {
            out.append(v)
            i += 4
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// A failure inside a test helper or a conformance check, with a message saying what was expected.
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String, file: StaticString = #fileID, line: UInt = #line) {
        self.description = "\(file):\(line): \(description)"
    }
}

/// Throws `TestSupportError(message)` unless `condition` holds.
public func require(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) throws {
    if !condition { throw TestSupportError(message(), file: file, line: line) }
}
