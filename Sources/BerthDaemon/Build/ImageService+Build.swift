import BerthAPI
import BerthArchive
import BerthBuild
import BerthCore
import BerthImage
import BerthOS
import Glibc

extension ImageService {
    /// A FROM image that is not here: pulled, with Docker's status lines in the build output.
    func pullForBuild(
        _ ref: ImageReference, platform: String?, credentials: RegistryCredentials?, output: BuildOutput
    ) async throws(BerthError) -> ImageRecord {
        let (puller, resolved) = try await resolvePull(ref, platform: platform, credentials: credentials)
        await output.write(
            "\(ref.tag ?? ref.digest ?? "latest"): Pulling from \(RegistryLocation(repository: ref.repository).path)\n")
        let record = try await puller.pull(resolved) { _ in }
        await output.write("Digest: \(resolved.digest)\nStatus: Downloaded newer image for \(ref.description)\n")
        events.publish(type: "image", action: "pull", id: record.id, attributes: ["name": ref.description])
        return record
    }

    /// The empty image `FROM scratch` stands for (no layers; the same ID every time), stored on first use so
    /// that file steps can make containers of it.
    func scratchImage() async throws(BerthError) -> ImageRecord {
        let config: JSONValue = .object([
            ("architecture", .string("amd64")), ("os", .string("linux")), ("config", .object([])),
            ("rootfs", .object([("type", .string("layers")), ("diff_ids", .array([]))])), ("history", .array([])),
        ])
        let bytes = Array(config.serialized.utf8)
        let id = "sha256:" + SHA256.hash(bytes)
        if let existing = await store.find(id) { return existing }
        _ = try store.content.put(bytes)
        try await store.add(ImageRecord(id: id, config: config, layers: [], repoTags: [], size: 0, lastTagTime: 0))
        return try await store.resolve(id)
    }

    /// `POST /build`: the context tar is extracted into a temporary directory (`.dockerignore` applied), the
    /// Dockerfile parsed and built; everything is reported as Docker's JSON-lines stream, errors included.
    func build(options: BuildOptions, context body: [UInt8], credentials: [String: RegistryCredentials], tmpDir: String)
        -> HTTPResponse
    {
        let containers = self.containers
        let hooks = self.hooks
        let events = self.events
        let cache = self.buildCache
        let service = self
        return progressStream { yield throws(BerthError) in
            let work = "\(tmpDir)/build-\(Identifier.random().prefix(16))"
            defer { try? FileSystem.removeTree(work) }
            let context = work + "/context"
            try FileSystem.createDirectory(context, mode: 0o700)
            try BuildContext.extract(body, into: context, scratch: work + "/context.tar")
            let dockerfile = try BuildContext.dockerfile(options.dockerfile, in: context)
            let file = try Dockerfile.parse(dockerfile)
            try BuildContext.applyDockerIgnore(in: context, keeping: options.dockerfile)
            let output = BuildOutput { text in yield(.object([("stream", .string(text))])) }
            let backend = DaemonBuildBackend(
                containers: containers, images: service, cache: cache, credentials: credentials, tmpDir: tmpDir)
            let image: BuildImage
            do throws(BerthError) {
                image = try await Builder(backend: backend, context: context, options: options, output: output).build(
                    file)
            } catch {
                if hooks.handles(.build) {
                    hooks.notify(.build, .object([("event", .string("build")), ("error", .string(error.message))]))
                }
                throw error
            }
            yield(.object([("aux", .object([("ID", .string(image.id))]))]))
            if options.quiet {
                yield(.object([("stream", .string(image.id + "\n"))]))
            } else {
                yield(.object([("stream", .string("Successfully built \(image.shortID)\n"))]))
                for tag in options.tags {
                    let name = (try? ImageReference(parsing: tag))?.description ?? tag
                    yield(.object([("stream", .string("Successfully tagged \(name)\n"))]))
                }
            }
            for tag in options.tags {
                events.publish(type: "image", action: "tag", id: image.id, attributes: ["name": tag])
            }
            if hooks.handles(.build) {
                hooks.notify(
                    .build,
                    .object([
                        ("event", .string("build")), ("id", .string(image.id)), ("tags", .strings(options.tags)),
                        ("dockerfile", .string(options.dockerfile)),
                    ]))
            }
        }
    }
}
