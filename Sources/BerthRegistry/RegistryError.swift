import BerthCore

/// An error of the distribution API: its code (`BLOB_UNKNOWN`, …), HTTP status and message, sent as
/// `{"errors":[{"code","message","detail"}]}`. Converted to `BerthError` where it leaves the module.
public struct RegistryError: Error, Sendable, Equatable {
    public var code: String
    public var status: Int
    public var message: String
    public var detail: String?

    public init(_ code: String, _ status: Int, _ message: String, detail: String? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.detail = detail
    }

    static func blobUnknown(_ digest: String) -> RegistryError {
        RegistryError("BLOB_UNKNOWN", 404, "blob unknown to registry", detail: digest)
    }
    static func blobUploadUnknown(_ id: String) -> RegistryError {
        RegistryError("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry", detail: id)
    }
    static func blobUploadInvalid(_ detail: String) -> RegistryError {
        RegistryError("BLOB_UPLOAD_INVALID", 400, "blob upload invalid", detail: detail)
    }
    static func digestInvalid(_ detail: String) -> RegistryError {
        RegistryError("DIGEST_INVALID", 400, "provided digest did not match uploaded content", detail: detail)
    }
    static func sizeInvalid(_ detail: String) -> RegistryError {
        RegistryError("SIZE_INVALID", 400, "provided length did not match content length", detail: detail)
    }
    static func manifestUnknown(_ reference: String) -> RegistryError {
        RegistryError("MANIFEST_UNKNOWN", 404, "manifest unknown", detail: reference)
    }
    static func manifestInvalid(_ detail: String) -> RegistryError {
        RegistryError("MANIFEST_INVALID", 400, "manifest invalid", detail: detail)
    }
    static func manifestBlobUnknown(_ digest: String) -> RegistryError {
        RegistryError("MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry", detail: digest)
    }
    static func nameInvalid(_ name: String) -> RegistryError {
        RegistryError("NAME_INVALID", 400, "invalid repository name", detail: name)
    }
    static func nameUnknown(_ name: String) -> RegistryError {
        RegistryError("NAME_UNKNOWN", 404, "repository name not known to registry", detail: name)
    }
    static func tagInvalid(_ tag: String) -> RegistryError {
        RegistryError("TAG_INVALID", 400, "manifest tag did not match URI", detail: tag)
    }
    static func rangeInvalid(_ detail: String) -> RegistryError {
        RegistryError("BLOB_UPLOAD_INVALID", 416, "requested range not satisfiable", detail: detail)
    }
    static func unauthorized() -> RegistryError {
        RegistryError("UNAUTHORIZED", 401, "authentication required")
    }
    static func unsupported(_ detail: String) -> RegistryError {
        RegistryError("UNSUPPORTED", 405, "The operation is unsupported.", detail: detail)
    }
    static func tooLarge(_ detail: String) -> RegistryError {
        RegistryError("SIZE_INVALID", 413, "request body too large", detail: detail)
    }

    /// A failure of the disk underneath: a 500 that names the operation.
    static func storage(_ what: String, _ error: BerthError) -> RegistryError {
        RegistryError("UNKNOWN", 500, "unknown error", detail: "\(what): \(error.message)")
    }

    /// The JSON body.
    var body: [UInt8] {
        var entry: [(String, JSONValue)] = [("code", .string(code)), ("message", .string(message))]
        if let detail { entry.append(("detail", .string(detail))) }
        let json = JSONValue.object([("errors", .array([.object(entry)]))])
        return Array(json.serialized.utf8) + [0x0A]
    }

    /// The engine error for callers outside the module (the `gc` command, tests).
    public var berthError: BerthError {
        let code: BerthError.Code
        switch status {
        case 400, 413, 416: code = .invalidArgument
        case 401: code = .unauthorized
        case 404: code = .notFound
        case 405: code = .unsupported
        default: code = .internalError
        }
        return BerthError(code, detail.map { "\(message): \($0)" } ?? message)
    }
}
