import BerthCore
import Glibc

/// Clock readings, Go-style durations and the timestamp layouts Docker prints.
enum TimeFormat {
    /// Nanoseconds since the epoch.
    static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Parses Go's `time.ParseDuration` syntax into seconds (see `TimeText.parseDuration`).
    static func parseDuration(_ text: String) -> Double? { TimeText.parseDuration(text) }

    /// Docker's `--since`/`--until` value (`timetypes.GetTimestamp`): a Go duration means that long before `now`
    /// and becomes unix seconds; anything else (unix seconds, RFC 3339) is passed to the daemon as it is.
    static func timestamp(_ value: String, nowNanos: Int64) -> String {
        if value != "0", let d = parseDuration(value) {
            let t = nowNanos - Int64(d * 1e9)
            return String(t >= 0 ? t / 1_000_000_000 : (t - 999_999_999) / 1_000_000_000)
        }
        return value
    }

    /// Broken-down local time for `seconds`, as `localtime_r` gives it.
    private static func local(_ seconds: Int64) -> tm {
        var t = time_t(seconds)
        var out = tm()
        localtime_r(&t, &out)
        return out
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private static func offset(_ seconds: Int, colon: Bool) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let a = abs(seconds)
        return sign + pad(a / 3600, 2) + (colon ? ":" : "") + pad(a % 3600 / 60, 2)
    }

    private static func date(_ t: tm) -> String {
        "\(pad(Int(t.tm_year) + 1900, 4))-\(pad(Int(t.tm_mon) + 1, 2))-\(pad(Int(t.tm_mday), 2))"
    }

    private static func clock(_ t: tm) -> String {
        "\(pad(Int(t.tm_hour), 2)):\(pad(Int(t.tm_min), 2)):\(pad(Int(t.tm_sec), 2))"
    }

    /// `jsonmessage.RFC3339NanoFixed` in local time: `2026-11-29T14:03:07.123456789Z` (or `+01:00`).
    static func rfc3339NanoFixed(_ nanos: Int64) -> String {
        let secs = nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
        let frac = Int(nanos - secs * 1_000_000_000)
        let t = local(secs)
        let zone = t.tm_gmtoff == 0 ? "Z" : offset(Int(t.tm_gmtoff), colon: true)
        return "\(date(t))T\(clock(t)).\(pad(frac, 9))\(zone)"
    }

    /// Go's `time.Time.String()` without fractions: `2026-11-29 14:44:02 +0000 UTC`.
    static func goTimeString(_ seconds: Int64) -> String {
        let t = local(seconds)
        let name = t.tm_zone.map { String(cString: $0) } ?? ""
        return "\(date(t)) \(clock(t)) \(offset(Int(t.tm_gmtoff), colon: false)) \(name)"
    }

    /// RFC 3339 seconds in local time, as `docker images --format {{.CreatedAt}}` shows.
    static func rfc3339(_ seconds: Int64) -> String {
        let t = local(seconds)
        let zone = t.tm_gmtoff == 0 ? "Z" : offset(Int(t.tm_gmtoff), colon: true)
        return "\(date(t))T\(clock(t))\(zone)"
    }

    /// Parses the daemon's RFC 3339 timestamps (`Created` in inspect output) into unix seconds.
    static func parseRFC3339Seconds(_ text: String) -> Int64? {
        guard let nanos = TimeText.parseRFC3339(text) else { return nil }
        return nanos >= 0 ? nanos / 1_000_000_000 : (nanos - 999_999_999) / 1_000_000_000
    }
}
