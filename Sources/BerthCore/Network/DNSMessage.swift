/// The little of DNS that Berth's resolver needs: read a query's question, write an answer.
public enum DNSMessage {
    public struct Question: Sendable, Equatable {
        public var id: UInt16
        /// Lower-cased, without the trailing dot.
        public var name: String
        public var type: UInt16
        public var recursionDesired: Bool
        /// The question section's bytes (name, type, class), echoed in the answer.
        var section: ArraySlice<UInt8>
    }

    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28

    public enum ResponseCode: UInt8, Sendable {
        case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4, refused = 5
    }

    /// The first question of a standard query; nil when `bytes` is not one.
    public static func parseQuery(_ bytes: [UInt8]) -> Question? {
        guard bytes.count >= 12 else { return nil }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let flags = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        guard flags & 0x8000 == 0, (flags >> 11) & 0xF == 0 else { return nil }  // a query, opcode QUERY
        let qdcount = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        guard qdcount >= 1 else { return nil }
        var i = 12
        var labels: [String] = []
        while true {
            guard i < bytes.count else { return nil }
            let n = Int(bytes[i])
            if n == 0 {
                i += 1
                break
            }
            guard n < 64, i + 1 + n <= bytes.count else { return nil }  // no compression in questions
            labels.append(String(decoding: bytes[(i + 1)..<(i + 1 + n)], as: UTF8.self).lowercased())
            i += 1 + n
        }
        guard i + 4 <= bytes.count else { return nil }
        let type = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
        return Question(
            id: id, name: labels.joined(separator: "."), type: type, recursionDesired: flags & 0x0100 != 0,
            section: bytes[12..<(i + 4)])
    }

    /// An answer to `q`: A records for `addresses` (for an A question), the response code, no others.
    public static func answer(_ q: Question, addresses: [IPv4Address], code: ResponseCode, ttl: UInt32 = 600)
        -> [UInt8]
    {
        let records = q.type == typeA && code == .noError ? addresses : []
        var out: [UInt8] = [UInt8(q.id >> 8), UInt8(q.id & 0xff)]
        // QR=1, AA=1, RD copied, RA=1.
        out.append(0x84 | (q.recursionDesired ? 0x01 : 0))
        out.append(0x80 | code.rawValue)
        out += [0, 1, UInt8(records.count >> 8), UInt8(records.count & 0xff), 0, 0, 0, 0]
        out += q.section
        for a in records {
            out += [0xC0, 0x0C, 0, 1, 0, 1]  // the question's name, type A, class IN
            out += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff)]
            let v = a.value
            out += [0, 4, UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        }
        return out
    }
}
