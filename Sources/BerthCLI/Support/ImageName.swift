/// An image reference split the way the Engine API's query parameters want it: `repository[:tag][@digest]`.
/// The tag is the part after the last `:` that follows the last `/`, so `localhost:5000/app` has none.
struct ImageName: Equatable {
    var repository: String
    var tag: String?
    var digest: String?

    init(_ reference: String) {
        var rest = reference
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = String(rest[..<at])
        }
        let slash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), slash.map({ colon > $0 }) ?? true {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        repository = rest
    }

    /// The reference with `:latest` added when it names neither a tag nor a digest (`TagNameOnly`).
    static func tagged(_ reference: String) -> String {
        let name = ImageName(reference)
        return name.tag == nil && name.digest == nil ? reference + ":latest" : reference
    }
}
