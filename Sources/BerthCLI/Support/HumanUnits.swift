import BerthCore
import Glibc

/// Docker's human-readable sizes and durations (`github.com/docker/go-units`).
enum HumanUnits {
    /// `units.HumanDuration` (shared with the daemon in BerthCore).
    static func duration(seconds d: Double) -> String { TimeText.humanDuration(seconds: d) }

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
