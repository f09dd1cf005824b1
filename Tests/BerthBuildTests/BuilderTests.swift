import BerthBuild
import BerthCore
import BerthTestSupport
import Synchronization
import Testing

/// A recording backend: images are numbered, RUN "runs" by recording its request, file steps run the real
/// change closure on a temporary directory, and the cache is a dictionary. Every call is logged in order.
final class RecordingBackend: BuildBackend {
    struct State {
        var log: [String] = []
        var images: [String: BuildImage] = [:]
        var cache: [String: [String]] = [:]
        var next = 1
        var runs: [BuildRunRequest] = []
    }
    let state = Mutex(State())
    let root: String

    init(root: String) { self.root = root }

    var log: [String] { state.withLock { $0.log } }
    var runs: [BuildRunRequest] { state.withLock { $0.runs } }

    private func make(from image: BuildImage, config: JSONValue, history: [JSONValue], layer: Bool) -> BuildImage {
        state.withLock { s in
            let id = "sha256:" + String(repeating: "0", count: 60) + String(format4(s.next))
            s.next += 1
            let made = BuildImage(
                id: id, config: config, history: image.history + history, layerCount: image.layerCount + (layer ? 1 : 0)
            )
            s.images[id] = made
            return made
        }
    }

    private func format4(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    func resolveImage(_ reference: String, platform: String?, pull: Bool, output: BuildOutput) async throws(BerthError)
        -> BuildImage
    {
        state.withLock { $0.log.append("resolve \(reference)") }
        guard reference == "base" else { throw .notFound("No such image: \(reference)") }
        return BuildImage(
            id: "sha256:" + String(repeating: "b", count: 64),
            config: .object([("Cmd", .strings(["sh"])), ("Env", .strings(["PATH=/bin"]))]),
            history: [.object([("created_by", .string("base"))])], layerCount: 1)
    }

    func run(_ request: BuildRunRequest, output: BuildOutput) async throws(BerthError) -> BuildImage {
        state.withLock {
            $0.log.append("run \(request.argv.joined(separator: " "))")
            $0.runs.append(request)
        }
        if request.argv.last == "exit 3" {
            throw BuildCommandFailure(command: request.argv, exitCode: 3).berthError
        }
        await output.write("ran\n")
        return make(from: request.image, config: request.config, history: request.history, layer: true)
    }

    func modifyFilesystem(
        of image: BuildImage, sources: [BuildImage], config: JSONValue, history: [JSONValue],
        change: @escaping @Sendable (String, [String]) throws(BerthError) -> Bool
    ) async throws(BerthError) -> BuildImage {
        state.withLock { $0.log.append("files") }
        guard try change(root, []) else { return image }
        return make(from: image, config: config, history: history, layer: true)
    }

    func commitConfig(_ image: BuildImage, config: JSONValue, history: [JSONValue]) async throws(BerthError)
        -> BuildImage
    {
        state.withLock { $0.log.append("config \(history.count)") }
        return make(from: image, config: config, history: history, layer: false)
    }

    func tag(_ image: BuildImage, as names: [String]) async throws(BerthError) {
        state.withLock { $0.log.append("tag \(names.joined(separator: ","))") }
    }

    func cachedImages(key: String) async -> [BuildImage] {
        state.withLock { s in (s.cache[key] ?? []).compactMap { s.images[$0] } }
    }

    func remember(key: String, image: BuildImage) async {
        state.withLock { s in
            if s.images[image.id] == nil { s.images[image.id] = image }
            s.cache[key] = [image.id] + (s.cache[key] ?? []).filter { $0 != image.id }
        }
    }

    func isAncestor(_ ancestor: BuildImage, of image: BuildImage) async -> Bool {
        ancestor.id == image.id || image.history.starts(with: ancestor.history)
    }
}

/// The builder's step logic against the recording backend.
struct BuilderTests {
    final class Lines: Sendable {
        let text = Mutex("")
        var value: String { text.withLock { $0 } }
        var output: BuildOutput { BuildOutput { s in self.text.withLock { $0 += s } } }
    }

    static func build(
        _ dockerfile: String, _ backend: RecordingBackend, options: BuildOptions = BuildOptions()
    ) async throws -> (BuildImage, String) {
        let lines = Lines()
        let image = try await Builder(backend: backend, context: backend.root, options: options, output: lines.output)
            .build(try Dockerfile.parse(dockerfile))
        return (image, lines.value)
    }

    /// Configuration steps make no image of their own: the one at the end carries all their history; a RUN
    /// sees the ENV before it and the build arguments (which stay out of the image).
    @Test func configurationStepsMakeOneImageAtTheEnd() async throws {
        try await withTemporaryDirectory { dir in
            let backend = RecordingBackend(root: dir)
            var options = BuildOptions()
            options.buildArgs = ["V": "2", "UNUSED": "x"]
            options.tags = ["app:1"]
            let (image, out) = try await Self.build(
                "FROM base\nARG V=1\nENV A=b\nRUN echo $V\nLABEL l=1\nENTRYPOINT [\"e\"]\n", backend, options: options)
            #expect(backend.log == ["resolve base", "run /bin/sh -c echo $V", "config 2", "tag app:1"])
            let run = try #require(backend.runs.first)
            #expect(run.env == ["PATH=/bin", "A=b", "V=2"])
            #expect(
                run.history.map { $0["created_by"]?.stringValue } == [
                    "/bin/sh -c #(nop)  ARG V=1", "/bin/sh -c #(nop)  ENV A=b", "|1 V=2 /bin/sh -c echo $V",
                ])
            #expect(image.config["Env"]?.stringArray == ["PATH=/bin", "A=b"])
            #expect(image.config["Labels"]?["l"]?.stringValue == "1")
            // An ENTRYPOINT drops the base image's CMD.
            #expect(image.config["Cmd"]?.isNull ?? true)
            #expect(image.history.count == 1 + 5)
            #expect(out.contains("Step 4/6 : RUN echo $V\nran\n"), "\(out)")
            #expect(out.hasSuffix("[Warning] One or more build-args [UNUSED] were not consumed\n"), "\(out)")
        }
    }

    /// A second build takes every step from the cache and returns the same image without running anything;
    /// `--no-cache` runs again; a different build argument misses from the RUN that sees it.
    @Test func theCacheChain() async throws {
        try await withTemporaryDirectory { dir in
            let backend = RecordingBackend(root: dir)
            let file = "FROM base\nENV A=b\nARG V\nRUN echo hi\nCMD [\"x\"]\n"
            let (first, _) = try await Self.build(file, backend)
            let before = backend.log.count
            let (second, out) = try await Self.build(file, backend)
            #expect(second.id == first.id)
            #expect(backend.log.dropFirst(before).allSatisfy { $0.hasPrefix("resolve") }, "\(backend.log)")
            #expect(out.components(separatedBy: "Using cache").count - 1 == 4)
            var options = BuildOptions()
            options.noCache = true
            let (third, _) = try await Self.build(file, backend, options: options)
            #expect(third.id != first.id)
            options = BuildOptions()
            options.buildArgs = ["V": "other"]
            let (_, changed) = try await Self.build(file, backend, options: options)
            #expect(changed.components(separatedBy: "Using cache").count - 1 == 2, "\(changed)")
        }
    }

    /// `--target` builds up to a stage and counts only its steps; a failing RUN is the build's error with
    /// Docker's message and the exit code; a FROM that names nothing known fails with the backend's error.
    @Test func targetsAndFailures() async throws {
        try await withTemporaryDirectory { dir in
            let backend = RecordingBackend(root: dir)
            var options = BuildOptions()
            options.target = "one"
            let (_, out) = try await Self.build("FROM base AS one\nRUN a\nFROM one\nRUN b\n", backend, options: options)
            #expect(out.contains("Step 2/2 : RUN a") && !out.contains("RUN b"))
            do {
                _ = try await Self.build("FROM base\nRUN exit 3\n", backend)
                Issue.record("a failing RUN must fail the build")
            } catch let error as BerthError {
                #expect(error.message == "The command '/bin/sh -c exit 3' returned a non-zero code: 3")
                #expect((error.cause as? BuildCommandFailure)?.exitCode == 3)
            }
            await #expect(throws: BerthError.self) { _ = try await Self.build("FROM nothing\n", backend) }
        }
    }
}
