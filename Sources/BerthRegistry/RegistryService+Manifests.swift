import BerthArchive
import BerthCore

extension RegistryService {
    func manifestRoute(_ name: String, reference: String, _ request: RegistryRequest) throws(RegistryError)
        -> BodyPlan
    {
        switch request.method {
        case "GET", "HEAD":
            let (digest, mediaType, bytes) = try store.manifest(name, reference: reference)
            return .respond(
                RegistryResponse(
                    status: 200,
                    headers: [
                        ("Content-Type", mediaType), ("Docker-Content-Digest", digest), ("ETag", "\"\(digest)\""),
                    ],
                    body: .bytes(bytes)))
        case "PUT":
            if RegistryNames.isDigestLike(reference) {
                guard RegistryNames.sha256Hex(reference) != nil else {
                    throw .digestInvalid("unsupported digest \(reference)")
                }
            } else if !RegistryNames.isValidTag(reference) {
                throw .tagInvalid(reference)
            }
            let contentType = request.header("Content-Type")
            return .collect(limit: Self.manifestLimit) { bytes in
                do throws(RegistryError) {
                    return try self.putManifest(name, reference: reference, contentType: contentType, bytes, request)
                } catch {
                    return .error(error)
                }
            }
        case "DELETE":
            guard allowDelete else { throw .unsupported("deletion is disabled on this registry") }
            try store.deleteManifest(name, reference: reference)
            return .respond(RegistryResponse(status: 202))
        default:
            throw .unsupported("\(request.method) on a manifest")
        }
    }

    /// Checks and stores a pushed manifest: valid JSON of a known kind, every blob it names already in the
    /// repository (every child manifest, for an index), and the digest in the URL (if one) matching the bytes.
    private func putManifest(
        _ name: String, reference: String, contentType: String?, _ bytes: [UInt8], _ request: RegistryRequest
    ) throws(RegistryError) -> RegistryResponse {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: bytes) } catch { throw .manifestInvalid("not JSON: \(error.message)") }
        guard json["schemaVersion"]?.intValue == 2 else {
            throw .manifestInvalid("schemaVersion must be 2 (schema 1 manifests are not supported)")
        }
        let declared = json["mediaType"]?.stringValue
        let header = contentType.map { String($0.split(separator: ";")[0]).trimmingSpaces }
        let mediaType: String
        if let declared {
            if let header, header != declared, header != "application/json", header != "application/octet-stream" {
                throw .manifestInvalid("mediaType \(declared) does not match Content-Type \(header)")
            }
            mediaType = declared
        } else if let header, OCIMediaType.manifests.contains(header) || OCIMediaType.indexes.contains(header) {
            mediaType = header
        } else {
            mediaType = json["manifests"] != nil ? OCIMediaType.ociIndex : OCIMediaType.ociManifest
        }
        if OCIMediaType.indexes.contains(mediaType) {
            for entry in json["manifests"]?.arrayValue ?? [] {
                let digest = entry["digest"]?.stringValue ?? ""
                guard let hex = RegistryNames.sha256Hex(digest) else { throw .manifestInvalid("bad digest \(digest)") }
                guard store.hasManifest(name, hex: hex) else { throw .manifestBlobUnknown(digest) }
            }
        } else if OCIMediaType.manifests.contains(mediaType) {
            guard let config = json["config"]?["digest"]?.stringValue else {
                throw .manifestInvalid("no config descriptor")
            }
            var digests = [config]
            for layer in json["layers"]?.arrayValue ?? [] {
                // Foreign (non-distributable) layers live elsewhere, at their `urls`.
                if layer["urls"]?.arrayValue?.isEmpty == false { continue }
                digests.append(layer["digest"]?.stringValue ?? "")
            }
            for digest in digests {
                guard let hex = RegistryNames.sha256Hex(digest) else { throw .manifestInvalid("bad digest \(digest)") }
                guard (try? store.blobSize(name, digest: digest)) != nil, store.hasBlob(hex: hex) else {
                    throw .manifestBlobUnknown(digest)
                }
            }
        } else {
            throw .manifestInvalid("unsupported manifest media type \(mediaType)")
        }
        let hex = FastSHA256.hash(bytes)
        let digest = "sha256:" + hex
        if RegistryNames.isDigestLike(reference), reference != digest {
            throw .digestInvalid("manifest digest is \(digest), not \(reference)")
        }
        try store.putManifest(
            name, bytes: bytes, hex: hex, mediaType: mediaType,
            tag: RegistryNames.isDigestLike(reference) ? nil : reference)
        logger.debug("manifest stored", metadata: ["repository": "\(name)", "reference": "\(reference)"])
        return RegistryResponse(
            status: 201,
            headers: [
                ("Location", "\(request.origin)/v2/\(name)/manifests/\(digest)"), ("Docker-Content-Digest", digest),
                ("Content-Length", "0"),
            ])
    }

    // MARK: Listings

    func tagList(_ name: String, _ request: RegistryRequest) throws(RegistryError) -> RegistryResponse {
        guard store.repositoryExists(name) else { throw .nameUnknown(name) }
        let (page, link) = try Self.paginate(store.tags(name), request, path: "/v2/\(name)/tags/list")
        return .json(.object([("name", .string(name)), ("tags", .strings(page))]), headers: link)
    }

    func catalog(_ request: RegistryRequest) throws(RegistryError) -> RegistryResponse {
        let (page, link) = try Self.paginate(store.repositories(), request, path: "/v2/_catalog")
        return .json(.object([("repositories", .strings(page))]), headers: link)
    }

    /// `n` and `last` as the spec has them: the entries after `last`, at most `n`, and a `Link` to the next page
    /// when there are more.
    static func paginate(_ all: [String], _ request: RegistryRequest, path: String) throws(RegistryError) -> (
        [String], [(String, String)]
    ) {
        var entries = all
        if let last = request.query["last"], !last.isEmpty { entries = entries.filter { $0 > last } }
        guard let text = request.query["n"], !text.isEmpty else { return (entries, []) }
        guard let n = Int(text), n >= 0 else {
            throw RegistryError("PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested", detail: text)
        }
        guard entries.count > n, n > 0 else { return (Array(entries.prefix(n)), []) }
        let page = Array(entries.prefix(n))
        let next = "<\(path)?last=\(page[page.count - 1])&n=\(n)>; rel=\"next\""
        return (page, [("Link", next)])
    }
}
