/// A storage driver keeps layers by ID, each with an optional parent, and describes how to mount them.
///
/// The lifecycle of an image with one layer and a container on it:
///
/// ```swift
/// try await driver.createLayer(id: "L1", parent: nil, applying: layerTar)   // image layer, read-only
/// let mounts = try await driver.prepare(id: "C1", parent: "L1")             // container's writable layer
/// // the shim mounts `mounts` onto the rootfs inside the container's mount namespace …
/// try await driver.remove(id: "C1")                                          // container removed
/// try await driver.remove(id: "L1")                                          // image removed (no children left)
/// ```
///
/// Drivers describe mounts; they never hand out mounted paths (see `withMountedLayer`).
public protocol StorageDriver: Sendable {
    /// The driver's name as chosen in config.lua or `--storage-driver` (`overlay`, `vfs`, …).
    var name: String { get }

    /// Creates a read-only layer `id` on top of `parent` and applies the layer tar at `archivePath` to it.
    ///
    /// Whiteouts in the tar hide files of lower layers. Entries that would escape the layer are refused.
    /// On failure nothing of `id` remains.
    /// - Parameters:
    ///   - id: the new layer's ID; must not exist.
    ///   - parent: the layer below, or `nil` for a base layer.
    ///   - archivePath: a tar (optionally compressed), or `nil` for an empty layer.
    /// - Returns: the size in bytes of the layer's own content.
    @discardableResult
    func createLayer(id: String, parent: String?, applying archivePath: String?) async throws(BerthError) -> Int64

    /// Creates the writable layer `id` on top of `parent` and returns the mounts that realise it.
    /// - Returns: mounts for the root filesystem, in order, targeting the rootfs directory.
    func prepare(id: String, parent: String?) async throws(BerthError) -> [MountSpec]

    /// The mounts that realise the existing layer `id` (writable for a prepared layer, read-only otherwise).
    func mounts(for id: String) async throws(BerthError) -> [MountSpec]

    /// Whether layer `id` exists.
    func exists(id: String) async -> Bool

    /// Removes layer `id`.
    /// - Throws: `.conflict` while a child layer exists; `.notFound` if there is no such layer.
    func remove(id: String) async throws(BerthError)

    /// Bytes used by the layer's own content.
    func usage(id: String) async throws(BerthError) -> Int64

    /// Key/value pairs for `docker info` (`DriverStatus`) and `GraphDriver.Data` of inspect.
    func info() async -> [(String, String)]

    /// Paths of layer `id` for `GraphDriver.Data` in inspect (e.g. `UpperDir`, `LowerDir`).
    func metadata(id: String) async -> [String: String]

    /// The files of the layer stack ending at `id` as a container sees them (whiteouts and opaque directories
    /// applied), without mounting anything: each entry's path inside the root filesystem and the host path that
    /// holds it. Parents come before their children; paths are relative without a leading `/` (e.g. `etc/hosts`).
    /// Used by `export` and by host-side reads of a stopped container.
    func mergedTree(id: String) async throws(BerthError) -> [TreeEntry]

    /// Readies the driver; called once when the daemon starts serving, before any other call (a plugin
    /// driver waits here for its plugin, which the daemon may have just started).
    func start() async throws(BerthError)

    /// Releases whatever the driver holds; called once at daemon shutdown.
    func shutdown() async
}

/// One file of a merged layer stack: where it is in the root filesystem and where it is on the host.
public struct TreeEntry: Sendable, Equatable {
    public var path: String
    public var hostPath: String
    public init(path: String, hostPath: String) {
        self.path = path
        self.hostPath = hostPath
    }
}

extension StorageDriver {
    public func metadata(id: String) async -> [String: String] { [:] }
    public func start() async throws(BerthError) {}
    public func shutdown() async {}
}

/// A storage driver that can compute a layer's changes against its parent faster than a tree walk.
public protocol LayerDiffing: StorageDriver {
    /// The directory holding only the changes of layer `id` (an overlay upper dir), in overlay whiteout form.
    func diffDirectory(id: String) async throws(BerthError) -> String
}
