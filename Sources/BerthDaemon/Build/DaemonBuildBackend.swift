import BerthBuild
import BerthCore
import BerthImage
import BerthOS
import BerthRuntime
import Glibc

/// The builder's engine side: images from the image store (pulled when missing), RUN and file steps in real
/// containers of the container service (same runtime, storage and network drivers as `run`), commits through
/// `ImageCommitter`, and the cache index. Every container it makes is removed before it returns.
struct DaemonBuildBackend: BuildBackend {
    let containers: ContainerService
    let images: ImageService
    let cache: BuildCache
    let credentials: [String: RegistryCredentials]
    let tmpDir: String

    var store: ImageStore { images.store }

    static func buildImage(_ r: ImageRecord) -> BuildImage {
        BuildImage(
            id: r.id, config: r.containerConfig, history: r.config["history"]?.arrayValue ?? [],
            layerCount: r.layers.count)
    }

    func resolveImage(_ reference: String, platform: String?, pull: Bool, output: BuildOutput)
        async throws(BerthError) -> BuildImage
    {
        if !pull, let local = await store.find(reference) { return Self.buildImage(local) }
        let ref = try ImageReference(parsing: reference)
        let host = RegistryLocation(repository: ref.repository).host
        let record = try await images.pullForBuild(
            ref, platform: platform, credentials: credentials[host], output: output)
        return Self.buildImage(record)
    }

    /// The record of `image`; `scratch` is an empty image kept in the store for the containers of file steps.
    func record(_ image: BuildImage) async throws(BerthError) -> ImageRecord {
        if image.isScratch { return try await images.scratchImage() }
        return try await store.resolve(image.id)
    }

    func run(_ request: BuildRunRequest, output: BuildOutput) async throws(BerthError) -> BuildImage {
        guard !request.image.isScratch else {
            throw .invalidArgument("RUN needs an image with a shell: the stage is FROM scratch")
        }
        let parent = try await record(request.image)
        var body: JSONValue = .object([
            ("Image", .string(parent.id)), ("Cmd", .strings(request.argv)), ("Entrypoint", .strings([""])),
            ("Env", .strings(request.env)), ("User", .string(request.user)),
            ("WorkingDir", .string(request.workingDir)), ("AttachStdout", .bool(true)), ("AttachStderr", .bool(true)),
        ])
        body["HostConfig"] = .object([("NetworkMode", .string(request.network))])
        let (id, _) = try await containers.create(name: nil, body: body)
        await output.write(" ---> Running in \(id.prefix(12))\n")
        do throws(BerthError) {
            let code = try await runAttached(id, output: output)
            guard code == 0 else { throw BuildCommandFailure(command: request.argv, exitCode: code).berthError }
            let image = try await commit(id, parent: parent, config: request.config, history: request.history)
            await containers.removeQuietly(id)
            await output.write("Removing intermediate container \(id.prefix(12))\n")
            return image
        } catch {
            await containers.removeQuietly(id)
            throw error
        }
    }

    /// Starts the container with its output subscribed first, forwards it, and returns the exit code.
    func runAttached(_ id: String, output: BuildOutput) async throws(BerthError) -> Int32 {
        let ticket = try await containers.registerWait(id, condition: "next-exit")
        guard let hub = await containers.output(for: id) else { throw .internalError("no output for \(id)") }
        let chunks = hub.subscribe()
        let forward = Task {
            for await chunk in chunks { await output.write(String(decoding: chunk.bytes, as: UTF8.self)) }
        }
        do {
            try await containers.start(id)
        } catch {
            forward.cancel()
            throw error
        }
        let code = await ticket.value
        await forward.value
        return code
    }

    func commit(_ id: String, parent: ImageRecord, config: JSONValue, history: [JSONValue]) async throws(BerthError)
        -> BuildImage
    {
        var request = ImageCommitter.Request(
            containerID: id, image: parent, containerConfig: config,
            createdBy: history.last?["created_by"]?.stringValue ?? "")
        request.history = history
        let record = try await ImageCommitter(store: store).commit(request, tmpDir: tmpDir)
        return Self.buildImage(record)
    }

    func modifyFilesystem(
        of image: BuildImage, sources: [BuildImage], config: JSONValue, history: [JSONValue],
        change: @escaping @Sendable (String, [String]) throws(BerthError) -> Bool
    ) async throws(BerthError) -> BuildImage {
        let parent = try await record(image)
        var made: [String] = []
        do {
            let target = try await fileStepContainer(parent, &made)
            var sourceRecords: [ContainerRecord] = []
            for source in sources { sourceRecords.append(try await fileStepContainer(try await record(source), &made)) }
            let changed = try await mountAll(sourceRecords[...], roots: []) { (roots) throws(BerthError) -> Bool in
                try await containers.withMountedRoot(of: target) { (root) throws(BerthError) -> Bool in
                    try change(root, roots)
                }
            }
            let result = changed ? try await commit(target.id, parent: parent, config: config, history: history) : image
            for id in made { await containers.removeQuietly(id) }
            return result
        } catch {
            for id in made { await containers.removeQuietly(id) }
            throw error
        }
    }

    /// A container of `image` for a file step, never started (its command only has to be there).
    func fileStepContainer(_ image: ImageRecord, _ made: inout [String]) async throws(BerthError) -> ContainerRecord {
        let body: JSONValue = .object([
            ("Image", .string(image.id)), ("Cmd", .strings(["/nonexistent-build-step"])),
            ("HostConfig", .object([("NetworkMode", .string("none"))])),
        ])
        let (id, _) = try await containers.create(name: nil, body: body)
        made.append(id)
        return try await containers.lookup(id)
    }

    /// Mounts each source container in turn (nested), then runs `body` with all their roots.
    func mountAll(
        _ rest: ArraySlice<ContainerRecord>, roots: [String],
        _ body: ([String]) async throws(BerthError) -> Bool
    ) async throws(BerthError) -> Bool {
        guard let first = rest.first else { return try await body(roots) }
        return try await containers.withMountedRoot(of: first) { (dir) throws(BerthError) -> Bool in
            try await mountAll(rest.dropFirst(), roots: roots + [dir], body)
        }
    }

    func commitConfig(_ image: BuildImage, config: JSONValue, history: [JSONValue]) async throws(BerthError)
        -> BuildImage
    {
        let parent = try await record(image)
        let record = try await ImageCommitter(store: store).configOnly(
            image: parent, imageConfig: config, history: history)
        return Self.buildImage(record)
    }

    func tag(_ image: BuildImage, as names: [String]) async throws(BerthError) {
        for name in names { try await store.tag(id: image.id, reference: try ImageReference(parsing: name)) }
    }

    func cachedImages(key: String) async -> [BuildImage] {
        var out: [BuildImage] = []
        for id in await cache.lookup(key) {
            if let record = await store.find(id) { out.append(Self.buildImage(record)) }
        }
        return out
    }

    func remember(key: String, image: BuildImage) async {
        guard !image.isScratch else { return }
        await cache.store(key, image.id)
    }

    /// On the parent chain of a built image; for an image without one (pulled, loaded), made of the same
    /// layers and history as its start (how Docker matches `--cache-from` images from elsewhere).
    func isAncestor(_ ancestor: BuildImage, of image: BuildImage) async -> Bool {
        if ancestor.id == image.id { return true }
        guard let a = await store.find(ancestor.id), let b = await store.find(image.id) else { return false }
        if !b.parent.isEmpty {
            var next = b.parent
            while !next.isEmpty {
                if next == a.id { return true }
                guard let parent = await store.find(next) else { return false }
                next = parent.parent
            }
            return false
        }
        let ha = ancestor.history.map { $0["created_by"]?.stringValue ?? "" }
        let hb = image.history.map { $0["created_by"]?.stringValue ?? "" }
        return b.layers.starts(with: a.layers) && hb.starts(with: ha)
    }
}
