import BerthCore
import BerthDockerIgnore

/// An image as the builder sees it: its ID (empty for `scratch`), its configuration part (`Env`, `Cmd`, …) and
/// its history.
public struct BuildImage: Sendable, Equatable {
    public var id: String
    /// The image config's `config` object (the container defaults).
    public var config: JSONValue
    /// The image config's `history` entries.
    public var history: [JSONValue]
    /// How many layers the image has.
    public var layerCount: Int

    public init(id: String, config: JSONValue, history: [JSONValue], layerCount: Int) {
        self.id = id
        self.config = config
        self.history = history
        self.layerCount = layerCount
    }

    /// `FROM scratch`: no layers, no configuration.
    public static let scratch = BuildImage(id: "", config: .object([]), history: [], layerCount: 0)

    public var isScratch: Bool { id.isEmpty }

    /// The 12-digit short ID Docker prints.
    public var shortID: String { String(id.split(separator: ":").last?.prefix(12) ?? "") }
}

/// One RUN step for the backend: the command and its environment, run in a new container of `image`, whose
/// changes become a new image with `config` and `history` appended.
public struct BuildRunRequest: Sendable {
    public var image: BuildImage
    public var argv: [String]
    /// The variables of the step: the image's `Env` with the build arguments in effect added (not kept in the
    /// image).
    public var env: [String]
    public var user: String
    public var workingDir: String
    /// `NetworkMode` of the build container: "" for the daemon's default, or `none`, `host`, a network name.
    public var network: String
    /// The configuration of the image the step makes.
    public var config: JSONValue
    /// History entries to append: the configuration steps since the last image, then this step's.
    public var history: [JSONValue]

    public init(
        image: BuildImage, argv: [String], env: [String], user: String, workingDir: String, network: String,
        config: JSONValue, history: [JSONValue]
    ) {
        self.image = image
        self.argv = argv
        self.env = env
        self.user = user
        self.workingDir = workingDir
        self.network = network
        self.config = config
        self.history = history
    }
}

/// Where build output goes: the JSON-lines `stream` of `POST /build`.
public struct BuildOutput: Sendable {
    public let write: @Sendable (String) async -> Void
    public init(_ write: @escaping @Sendable (String) async -> Void) { self.write = write }
}

/// What the builder needs from the engine: images, containers for RUN and for file changes, the cache index.
/// The daemon implements it with its image store and container service; tests with a recording fake.
///
/// Every image-making call leaves no container behind, whether it succeeds or fails.
public protocol BuildBackend: Sendable {
    /// The image a FROM names: a local one, pulled when it is missing or when `pull` is set.
    /// - Throws: `.notFound` when it is neither local nor in its registry.
    func resolveImage(_ reference: String, platform: String?, pull: Bool, output: BuildOutput)
        async throws(BerthError) -> BuildImage

    /// Runs `request.argv` in a new container of `request.image`, writing its output (stdout and stderr) to
    /// `output` as it comes, between the " ---> Running in ID" and "Removing intermediate container ID" lines,
    /// then commits the container's changes.
    /// - Throws: `BuildError.commandFailed` (through `BerthError`) when the command exits non-zero.
    func run(_ request: BuildRunRequest, output: BuildOutput) async throws(BerthError) -> BuildImage

    /// Mounts a new container of `image` (and read-only views of `sources`) on the host, lets `change` edit
    /// the container's root, then commits the changes with `config` and `history` appended. When `change`
    /// returns false (nothing changed), no layer is made: the result has `image`'s layers.
    /// - Parameter change: gets the container root and the roots of `sources`, in order.
    func modifyFilesystem(
        of image: BuildImage, sources: [BuildImage], config: JSONValue, history: [JSONValue],
        change: @escaping @Sendable (String, [String]) throws(BerthError) -> Bool
    ) async throws(BerthError) -> BuildImage

    /// A new image with `image`'s layers, `config`, and `history` appended (configuration-only steps).
    func commitConfig(_ image: BuildImage, config: JSONValue, history: [JSONValue]) async throws(BerthError)
        -> BuildImage

    /// Tags the result.
    func tag(_ image: BuildImage, as names: [String]) async throws(BerthError)

    /// The images the cache has for `key` that still exist, newest first.
    func cachedImages(key: String) async -> [BuildImage]

    /// Remembers that the step `key` made `image`.
    func remember(key: String, image: BuildImage) async

    /// Whether `image` is `ancestor` itself or was made from it (its layers and history start with the
    /// ancestor's): for `--cache-from`, which trusts only cache entries leading to the images it names.
    func isAncestor(_ ancestor: BuildImage, of image: BuildImage) async -> Bool
}
