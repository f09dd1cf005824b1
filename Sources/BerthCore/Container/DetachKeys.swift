/// The key sequence that detaches a client from a container's terminal without stopping it (`--detach-keys`,
/// Docker's syntax: comma-separated `a`-`z`-style single characters and `ctrl-<c>` for `<c>` in `a`-`z`, `@`,
/// `[`, `\`, `]`, `^`, `_`); ctrl-p,ctrl-q when empty.
public struct DetachKeys: Sendable, Equatable {
    public let sequence: [UInt8]

    public init(_ text: String) throws(BerthError) {
        if text.isEmpty {
            sequence = [0x10, 0x11]
            return
        }
        var bytes: [UInt8] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let key = part.lowercased()
            if key.hasPrefix("ctrl-"), key.count == 6, let c = key.utf8.last {
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(c - UInt8(ascii: "a") + 1)
                case UInt8(ascii: "@"): bytes.append(0)
                case UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "^"), UInt8(ascii: "_"):
                    bytes.append(c - 0x40)
                default: throw .invalidArgument("Invalid escape keys (\(text)) provided")
                }
            } else if part.utf8.count == 1, let c = part.utf8.first, c >= 0x20, c < 0x7f {
                bytes.append(c)
            } else {
                throw .invalidArgument("Invalid escape keys (\(text)) provided")
            }
        }
        sequence = bytes
    }

    public func matcher() -> Matcher { Matcher(sequence: sequence) }

    /// Finds the sequence in a stream of input chunks, holding back a partial match until it completes or fails.
    public struct Matcher: Sendable {
        let sequence: [UInt8]
        var held: [UInt8] = []

        /// - Returns: the bytes to pass on, and whether the sequence was completed (bytes after it are dropped).
        public mutating func feed(_ bytes: [UInt8]) -> ([UInt8], Bool) {
            var out: [UInt8] = []
            for b in bytes {
                held.append(b)
                while !held.isEmpty, !sequence.starts(with: held) {
                    out.append(held.removeFirst())
                }
                if held.count == sequence.count {
                    held = []
                    return (out, true)
                }
            }
            return (out, false)
        }
    }
}
