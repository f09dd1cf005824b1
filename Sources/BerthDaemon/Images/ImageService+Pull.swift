import BerthAPI
import BerthCore
import BerthImage
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
            location: RegistryLocation(repository: ref.repository), credentials: credentials, certsDir: certsDir)
    }

    /// `POST /images/create?fromImage=`: the manifest is resolved first, so an unknown tag, a missing repository
    /// or refused credentials are an HTTP error (as Docker's "Error response from daemon: …"); the layers then
    /// come with Docker's JSON progress messages.
    func pull(reference text: String, platform: String?, credentials: RegistryCredentials?) async throws(BerthError)
        -> HTTPResponse
    {
        let ref = try ImageReference(parsing: text)
        let wanted = try platform.flatMap { p throws(BerthError) in p.isEmpty ? nil : try Platform(parsing: p) }
        let puller = ImagePuller(store: store, client: client(for: ref, credentials: credentials), runner: transfers)
        let resolved = try await puller.resolve(ref, platform: wanted)
        let upToDate =
            await store.find(resolved.config.digest).map { existing in
                ref.tag == nil || existing.repoTags.contains(ref.description)
            } ?? false
        let events = self.events
        let hooks = self.hooks
        let path = RegistryLocation(repository: ref.repository).path
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/json")],
            body: .stream { writer in
                let (lines, sink) = AsyncStream<JSONValue>.makeStream()
                let forward = Task {
                    for await line in lines { try? await writer.write(Array((line.serialized + "\n").utf8)) }
                }
                sink.yield(
                    .object([
                        ("status", .string("Pulling from \(path)")),
                        ("id", .string(ref.tag ?? ref.digest ?? "latest")),
                    ]))
                do throws(BerthError) {
                    let record = try await puller.pull(resolved) { sink.yield($0) }
                    sink.yield(.object([("status", .string("Digest: \(resolved.digest)"))]))
                    let name = ref.description
                    sink.yield(
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
                } catch {
                    sink.finish()
                    await forward.value
                    try? await writer.write(Routes.streamError(error.message))
                    return
                }
                sink.finish()
                await forward.value
            })
    }
}
