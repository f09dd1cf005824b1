import BerthAPI
import BerthCore

/// The Engine API routes, each a thin adapter from HTTP to a service.
enum Routes {
    static func router(_ daemon: Daemon) -> Router {
        Router { t in
            SystemRoutes.register(&t, daemon)
            ContainerRoutes.register(&t, daemon)
            ExecRoutes.register(&t, daemon)
            ImageRoutes.register(&t, daemon)
            BuildRoutes.register(&t, daemon)
            PluginRoutes.register(&t, daemon)
            NetworkRoutes.register(&t, daemon)
            VolumeRoutes.register(&t, daemon)
        }
    }

    /// The request body as JSON; an empty body is an empty object. Malformed JSON is a 400.
    static func jsonBody(_ request: HTTPRequest, required: Bool = false) throws(BerthError) -> JSONValue {
        if request.body.isEmpty || request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }) {
            if required { throw .invalidArgument("invalid JSON: empty request body") }
            return .object([])
        }
        do { return try JSONValue.parse(bytes: request.body) } catch {
            throw .invalidArgument("invalid JSON: \(error.message)")
        }
    }

    /// A JSON-lines progress error after the 200 has gone out.
    /// An error line of a JSON-lines stream; `code` (a failed RUN's exit code) goes in `errorDetail`.
    static func streamError(_ message: String, code: Int32? = nil) -> [UInt8] {
        var detail: JSONValue = .object([("message", .string(message))])
        if let code { detail = .object([("code", .int(code)), ("message", .string(message))]) }
        let line: JSONValue = .object([("errorDetail", detail), ("error", .string(message))])
        return Array((line.serialized + "\n").utf8)
    }
}
