import BerthAPI
import BerthBuild
import BerthCore
import BerthImage
import BerthOS
import Glibc
import NIOPosix

/// Registry transfers on a thread pool of their own.
struct ThreadPoolRunner: BlockingRunner {
    let pool: NIOThreadPool

    func run<T: Sendable>(_ body: @escaping @Sendable () throws(BerthError) -> T) async throws(BerthError) -> T {
        let result: Result<T, BerthError>
        do {
            result = try await pool.runIfActive {
                do throws(BerthError) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch {
            throw .unavailable("the daemon is shutting down")
        }
        return try result.get()
    }
}

extension ImageService {
    func client(for ref: ImageReference, credentials: RegistryCredentials?) -> RegistryClient {
        RegistryClient(
            location: RegistryLocation(repository: ref.repository), credentials: credentials,
            insecureRegistries: registry.insecure, certsDir: registry.certsDir)
    }

    /// A puller for `ref` with the configured concurrency, and its manifest resolved for `platform`.
    func resolvePull(_ ref: ImageReference, platform: String?, credentials: RegistryCredentials?)
        async throws(BerthError) -> (ImagePuller, ResolvedImage)
    {
        let wanted = try platform.flatMap { p throws(BerthError) in p.isEmpty ? nil : try Platform(parsing: p) }
        var puller = ImagePuller(store: store, client: client(for: ref, credentials: credentials), runner: transfers)
        puller.concurrency = Int(registry.maxConcurrentDownloads)
        return (puller, try await puller.resolve(ref, platform: wanted))
    }

    /// `POST /images/create?fromImage=`: the manifest is resolved first, so an unknown tag, a missing repository
    /// or refused credentials are an HTTP error (as Docker's "Error response from daemon: …"); the layers then
    /// come with Docker's JSON progress messages.
    func pull(reference text: String, platform: String?, credentials: RegistryCredentials?) async throws(BerthError)
        -> HTTPResponse
    {
        let ref = try ImageReference(parsing: text)
        let (puller, resolved) = try await resolvePull(ref, platform: platform, credentials: credentials)
        let upToDate =
            await store.find(resolved.config.digest).map { existing in
                ref.tag == nil || existing.repoTags.contains(ref.description)
            } ?? false
        let events = self.events
        let hooks = self.hooks
        let path = RegistryLocation(repository: ref.repository).path
        return progressStream { yield throws(BerthError) in
            yield(
                .object([
                    ("status", .string("Pulling from \(path)")),
                    ("id", .string(ref.tag ?? ref.digest ?? "latest")),
                ]))
            let record = try await puller.pull(resolved) { yield($0) }
            yield(.object([("status", .string("Digest: \(resolved.digest)"))]))
            let name = ref.description
            yield(
                .object([
                    (
                        "status",
                        .string(
                            upToDate
                                ? "Status: Image is up to date for \(name)"
                                : "Status: Downloaded newer image for \(name)")
                    )
                ]))
            events.publish(type: "image", action: "pull", id: record.id, attributes: ["name": name])
            if hooks.handles(.pull) {
                hooks.notify(
                    .pull,
                    .object([
                        ("event", .string("pull")), ("id", .string(record.id)), ("name", .string(name)),
                        ("digest", .string(resolved.digest)), ("size", .int(record.size)),
                    ]))
            }
        }
    }
}

extension ImageService {
    /// `POST /images/{name}/push?tag=`: the named tag, or every tag of the repository without one. An image
    /// that is not there is an HTTP error; the rest comes as Docker's progress, ending with the digest line and
    /// the `aux` object the docker CLI reads.
    func push(name: String, tag: String?, credentials: RegistryCredentials?) async throws(BerthError) -> HTTPResponse {
        let repository = try ImageReference(parsing: name).repository
        var targets: [(ImageReference, ImageRecord)] = []
        if let tag, !tag.isEmpty {
            let ref = try ImageReference(parsing: "\(repository):\(tag)")
            guard let record = await store.find(ref.description) else {
                throw .notFound("An image does not exist locally with the tag: \(ref.description)")
            }
            targets = [(ref, record)]
        } else {
            for record in await store.all() {
                for t in record.repoTags {
                    if let ref = try? ImageReference(parsing: t), ref.repository == repository {
                        targets.append((ref, record))
                    }
                }
            }
            guard !targets.isEmpty else {
                throw .notFound("An image does not exist locally with the tag: \(repository)")
            }
        }
        let pushes = targets
        let pusher = ImagePusher(
            store: store, client: client(for: targets[0].0, credentials: credentials), runner: transfers)
        let events = self.events
        let location = RegistryLocation(repository: repository)
        return progressStream { yield throws(BerthError) in
            yield(
                .object([
                    (
                        "status",
                        .string(
                            "The push refers to repository [\(location.host == "docker.io" ? "docker.io/" + location.path : repository)]"
                        )
                    )
                ]))
            for (ref, record) in pushes {
                let result = try await pusher.push(record, as: ref) { yield($0) }
                let tag = ref.tag ?? "latest"
                yield(
                    .object([("status", .string("\(tag): digest: \(result.digest) size: \(result.size)"))]))
                yield(
                    .object([
                        ("progressDetail", .object([])),
                        (
                            "aux",
                            .object([
                                ("Tag", .string(tag)), ("Digest", .string(result.digest)),
                                ("Size", .int(result.size)),
                            ])
                        ),
                    ]))
                events.publish(
                    type: "image", action: "push", id: record.id, attributes: ["name": ref.description])
            }
        }
    }
}

extension ImageService {
    /// `GET /images/get?names=…` and `GET /images/{name}/get`: a `docker save` tar of the images (a name keeps
    /// its tag in the archive; an ID none), written to a temporary file and then streamed.
    func save(names: [String], tmpDir: String) async throws(BerthError) -> HTTPResponse {
        guard !names.isEmpty else { throw .invalidArgument("no image names given") }
        var images: [(ImageRecord, [String])] = []
        for name in names {
            let record = try await store.resolve(name)
            let ref = try? ImageReference(parsing: name)
            let tags = ref.flatMap { record.repoTags.contains($0.description) ? [$0.description] : nil } ?? []
            if let i = images.firstIndex(where: { $0.0.id == record.id }) {
                images[i].1 += tags.filter { !images[i].1.contains($0) }
            } else {
                images.append((record, tags))
            }
        }
        try FileSystem.createDirectory(tmpDir)
        let path = "\(tmpDir)/save-\(Identifier.random().prefix(16)).tar"
        let fd = try Syscall.call("create \(path)") { open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        let chosen = images
        do throws(BerthError) {
            let content = store.content
            try await transfers.run { () throws(BerthError) in try ImageArchive.save(chosen, content: content, to: fd) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/x-tar")],
            body: .stream { writer in
                defer { unlink(path) }
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return }
                defer { close(fd) }
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { return }
                    do { try await writer.write(Array(buffer[0..<n])) } catch { return }
                }
            })
    }

    /// `POST /images/load`: the body is the archive; Docker's `{"stream": "Loaded image: …\n"}` lines, or the
    /// error (nothing is stored when a layer does not match its diff ID).
    func load(body: [UInt8], quiet: Bool, tmpDir: String) async throws(BerthError) -> HTTPResponse {
        try FileSystem.createDirectory(tmpDir)
        let path = "\(tmpDir)/load-\(Identifier.random().prefix(16)).tar"
        try FileSystem.writeFile(path, body, mode: 0o600)
        let store = self.store
        let events = self.events
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/json")],
            body: .stream { writer in
                defer { unlink(path) }
                do throws(BerthError) {
                    let lines = try await ImageArchive.load(archive: path, store: store)
                    for line in lines {
                        try? await writer.write(
                            Array((JSONValue.object([("stream", .string(line + "\n"))]).serialized + "\n").utf8))
                        let name = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingSpaces } ?? ""
                        events.publish(type: "image", action: "load", id: name, attributes: ["name": name])
                    }
                } catch {
                    try? await writer.write(Routes.streamError(error.message))
                }
            })
    }
}

extension ImageService {
    /// `POST /auth` (`docker login`): the credentials are checked against the registry; nothing is stored by the
    /// daemon (clients keep them).
    func login(_ body: JSONValue) async throws(BerthError) -> JSONValue {
        var server = body["serveraddress"]?.stringValue ?? ""
        for prefix in ["https://", "http://"] where server.hasPrefix(prefix) { server.removeFirst(prefix.count) }
        server = String(server.prefix { $0 != "/" })
        if server.isEmpty || server == "index.docker.io" { server = "docker.io" }
        let credentials = RegistryCredentials(
            username: body["username"]?.stringValue ?? "", password: body["password"]?.stringValue ?? "",
            identityToken: body["identitytoken"]?.stringValue ?? "")
        guard !credentials.username.isEmpty || !credentials.identityToken.isEmpty else {
            throw .invalidArgument("username is required")
        }
        let location = RegistryLocation(repository: server == "docker.io" ? "library/x" : server + "/x")
        let client = RegistryClient(
            location: location, credentials: credentials, insecureRegistries: registry.insecure,
            certsDir: registry.certsDir)
        try await transfers.run { () throws(BerthError) in try client.checkLogin() }
        return .object([("Status", .string("Login Succeeded")), ("IdentityToken", .string(""))])
    }
}

extension ImageService {
    /// `GET /images/search?term=HOST/TEXT`: the repositories of that registry's catalog (`/v2/_catalog`, all pages)
    /// whose names contain TEXT. Docker Hub's own search service is not the distribution API and is not asked.
    func search(term: String, limit: Int, credentials: RegistryCredentials?) async throws(BerthError) -> JSONValue {
        let parts = term.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" else {
            throw .invalidArgument(
                "search needs a registry: name it before the term (REGISTRY/TERM); Docker Hub's search service is not supported"
            )
        }
        let text = parts[1].lowercased()
        let client = RegistryClient(
            location: RegistryLocation(repository: parts[0] + "/x"), credentials: credentials,
            insecureRegistries: registry.insecure, certsDir: registry.certsDir)
        var names: [String] = []
        var next: String? = "_catalog?n=1000"
        var pages = 0
        while let page = next, pages < 100 {
            pages += 1
            let r = try await transfers.run { () throws(BerthError) in
                try client.request("GET", page, repository: false)
            }
            guard r.status == 200 else {
                throw .unavailable("\(parts[0]): catalog: \(RegistryClient.failure(r).message)")
            }
            names += (try? JSONValue.parse(bytes: r.body))?["repositories"]?.stringArray ?? []
            // `Link: </v2/_catalog?last=x&n=1000>; rel="next"`
            next = r.header("link").flatMap { link in
                guard let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"), open < close else {
                    return nil
                }
                let target = String(link[link.index(after: open)..<close])
                return target.hasPrefix("/v2/") ? String(target.dropFirst(4)) : nil
            }
        }
        let hits = names.filter { text.isEmpty || $0.lowercased().contains(text) }.prefix(limit > 0 ? limit : 25)
        return .array(
            hits.map {
                .object([
                    ("name", .string("\(parts[0])/\($0)")), ("description", .string("")), ("star_count", .int(0)),
                    ("is_official", .bool(false)), ("is_automated", .bool(false)),
                ])
            })
    }
}

/// A JSON-lines progress response (pull, push): `body` yields lines as they come (from any task, in order);
/// a failure ends the stream with Docker's `errorDetail` line.
func progressStream(
    _ body: @escaping @Sendable (_ yield: @escaping @Sendable (JSONValue) -> Void) async throws(BerthError) -> Void
)
    -> HTTPResponse
{
    HTTPResponse(
        status: 200, headers: [("Content-Type", "application/json")],
        body: .stream { writer in
            let (lines, sink) = AsyncStream<JSONValue>.makeStream()
            let forward = Task {
                for await line in lines { try? await writer.write(Array((line.serialized + "\n").utf8)) }
            }
            var failure: BerthError? = nil
            do throws(BerthError) { try await body { sink.yield($0) } } catch { failure = error }
            sink.finish()
            await forward.value
            if let failure {
                let code = (failure.cause as? BuildCommandFailure)?.exitCode
                try? await writer.write(Routes.streamError(failure.message, code: code))
            }
        })
}
