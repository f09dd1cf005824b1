import Glibc

/// Docker's human-readable sizes and durations (`github.com/docker/go-units`).
enum HumanUnits {
    /// `units.HumanDuration`: "Less than a second", "5 seconds", "About a minute", "3 hours", "2 weeks"…
    static func duration(seconds d: Double) -> String {
        let seconds = Int(d)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = Int(d / 60)
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let hours = Int((d / 3600).rounded(.toNearestOrAwayFromZero))
        if hours == 1 { return "About an hour" }
        if hours < 48 { return "\(hours) hours" }
        if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
        if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
        if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
        return "\(Int(d / 3600) / 24 / 365) years"
    }

    /// `units.HumanSizeWithPrecision(size, 3)`: decimal units, "1.98MB", "512B", "4.1kB".
    static func size(_ bytes: Double, precision: Int = 3) -> String {
        scaled(bytes, base: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"], precision: precision)
    }

    /// `units.BytesSize`: binary units with four significant digits, "23.54GiB".
    static func bytesSize(_ bytes: Double) -> String {
        scaled(bytes, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"], precision: 4)
    }

    private static func scaled(_ value: Double, base: Double, units: [String], precision: Int) -> String {
        var size = value
        var i = 0
        while size >= base, i < units.count - 1 {
            size /= base
            i += 1
        }
        return formatG(size, precision: precision) + units[i]
    }

    /// C's (and Go's) `%.Ng`.
    static func formatG(_ value: Double, precision: Int) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        let n = withVaList([value]) { vsnprintf(&buf, buf.count, "%.\(precision)g", $0) }
        return String(
            decoding: buf.prefix(max(0, min(Int(n), buf.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
