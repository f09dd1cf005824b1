/// Parses Docker's human byte sizes (`--memory 64m`, `512k`, `1g`, `1024`, `1.5g`): binary units, case-insensitive,
/// an optional trailing `b`.
public enum ByteSize {
    public static func parse(_ text: String) throws(BerthError) -> Int64 {
        var s = text.trimmingSpaces.lowercased()
        guard !s.isEmpty else { throw .invalidArgument("invalid size: '\(text)'") }
        if s.hasSuffix("b"), s.count > 1, let prev = s.dropLast().last, !prev.isNumber { s.removeLast() }
        var multiplier: Double = 1
        if let last = s.last, !last.isNumber {
            switch last {
            case "k": multiplier = 1024
            case "m": multiplier = 1024 * 1024
            case "g": multiplier = 1024 * 1024 * 1024
            case "t": multiplier = 1024 * 1024 * 1024 * 1024
            case "p": multiplier = 1024 * 1024 * 1024 * 1024 * 1024
            case "b": multiplier = 1
            default: throw .invalidArgument("invalid size: '\(text)'")
            }
            s.removeLast()
        }
        guard let value = Double(s), value >= 0, value.isFinite else {
            throw .invalidArgument("invalid size: '\(text)'")
        }
        return Int64(value * multiplier)
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines.
    public var trimmingSpaces: String {
        var scalars = Substring(String(self))
        // "\r\n" is one Character in Swift: it is named too.
        while let f = scalars.first, f == " " || f == "\t" || f == "\n" || f == "\r" || f == "\r\n" {
            scalars.removeFirst()
        }
        while let l = scalars.last, l == " " || l == "\t" || l == "\n" || l == "\r" || l == "\r\n" {
            scalars.removeLast()
        }
        return String(scalars)
    }
}
