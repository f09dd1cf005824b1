import BerthCore
import Glibc

extension APIClient {
    /// An open response whose head has been read and whose body has not.
    public struct OpenResponse {
        public let connection: Connection
        public let status: Int
        public let headers: [(String, String)]

        /// Reads the rest of the body and closes the connection.
        public func readAll() throws(BerthError) -> [UInt8] {
            defer { connection.close() }
            var out: [UInt8] = []
            try connection.readBody(headers: headers) {
                out.append(contentsOf: $0)
                return true
            }
            return out
        }
    }

    /// Sends a request and reads only the response head, leaving the body on the connection: for long polls
    /// whose headers come early (`POST /containers/{id}/wait`, read after the container has run).
    /// A status of 400 or more is read in full and thrown; the caller closes the connection otherwise.
    public func open(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(BerthError) -> OpenResponse {
        let fd = try connect()
        let conn = Connection(fd: fd)
        let status: Int
        let hdrs: [(String, String)]
        do throws(BerthError) {
            try conn.send(
                Self.requestBytes(method: method, path: path, query: query, headers: headers, body: body ?? []))
            (status, hdrs) = try conn.readHead()
        } catch {
            conn.close()
            throw error
        }
        let response = OpenResponse(connection: conn, status: status, headers: hdrs)
        if status >= 400 { try Self.check(status, try response.readAll()) }
        return response
    }
}
