/// The framing between the daemon and `berth-shim` on the shim's socket (a socketpair at start, then
/// `<state>/shim.sock` for a daemon that reconnects after a restart).
///
/// Each message is `[type: 1 byte][length: 4 bytes big-endian][payload]`.
public enum ShimMessage {
    // shim -> daemon
    /// Payload: the container's pid (decimal text). Sent once the container process has execve'd.
    public static let started: UInt8 = UInt8(ascii: "S")
    /// Payload: stdout bytes.
    public static let stdout: UInt8 = UInt8(ascii: "O")
    /// Payload: stderr bytes.
    public static let stderr: UInt8 = UInt8(ascii: "E")
    /// Payload: `ExitStatus` JSON. Sent after all output; the shim exits after it.
    public static let exited: UInt8 = UInt8(ascii: "X")
    /// Payload: `<exit class> <message>`: the container could not be started (127, 126 or 125).
    public static let failed: UInt8 = UInt8(ascii: "F")
    /// Payload: `pid` on a reconnect: the container is running.
    public static let hello: UInt8 = UInt8(ascii: "H")

    // daemon -> shim
    /// Payload: bytes for the container's stdin.
    public static let stdin: UInt8 = UInt8(ascii: "I")
    /// Close the container's stdin.
    public static let closeStdin: UInt8 = UInt8(ascii: "C")
    /// Payload: signal number (decimal text).
    public static let signal: UInt8 = UInt8(ascii: "K")
    /// Payload: `rows cols` (decimal text): the terminal's new window size.
    public static let resize: UInt8 = UInt8(ascii: "R")
    /// Payload: `1` or `0`: whether the daemon wants the container's output (someone is attached). Without it
    /// the shim only logs, and a chatty container's output does not cross the socket for nobody.
    public static let output: UInt8 = UInt8(ascii: "W")

    public static let headerSize = 5

    public static func frame(_ type: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [
            type, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ] + payload
    }
}

/// How a container ended, written by the shim to `<state>/exit.json` and sent in `ShimMessage.exited`.
public struct ExitStatus: Sendable, Equatable {
    public var exitCode: Int32
    public var oomKilled: Bool
    /// Nanoseconds since the epoch.
    public var finishedAt: Int64
    public var error: String

    public init(exitCode: Int32, oomKilled: Bool, finishedAt: Int64, error: String = "") {
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.finishedAt = finishedAt
        self.error = error
    }

    public var json: JSONValue {
        .object([
            ("exitCode", .number(Double(exitCode))), ("oomKilled", .bool(oomKilled)),
            ("finishedAt", .string(String(finishedAt))), ("error", .string(error)),
        ])
    }

    public init(json: JSONValue) throws(BerthError) {
        guard let code = json["exitCode"]?.intValue else { throw .invalidArgument("exit status: no exitCode") }
        self.init(
            exitCode: Int32(truncatingIfNeeded: code), oomKilled: json["oomKilled"]?.boolValue ?? false,
            finishedAt: Int64(json["finishedAt"]?.stringValue ?? "") ?? 0, error: json["error"]?.stringValue ?? "")
    }
}
