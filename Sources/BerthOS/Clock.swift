import BerthCore
import CBerthLinux

/// Wall-clock time as Docker prints it (the formatting itself is `TimeText`, in BerthCore).
public enum Clock {
    /// Nanoseconds since the epoch.
    public static func nowNanos() -> Int64 { berth_realtime_ns() }

    /// RFC 3339 with nanoseconds in UTC, e.g. `2026-11-29T14:03:07.123456789Z`.
    public static func rfc3339Nano(_ nanos: Int64) -> String { TimeText.rfc3339Nano(nanos) }

    /// Parses RFC 3339 to nanoseconds since the epoch.
    public static func parseRFC3339(_ text: String) -> Int64? { TimeText.parseRFC3339(text) }
}
