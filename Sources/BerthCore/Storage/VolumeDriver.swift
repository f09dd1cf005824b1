/// A volume driver keeps named volumes and makes them available as host directories while containers use them
/// (Docker's `VolumeDriver` plugin protocol has the same operations, so a plugin can be one).
///
/// ```swift
/// try await driver.create(name: "data", options: [:])
/// let path = try await driver.mount(name: "data", callerID: containerID)   // at the container's start
/// // the shim binds `path` into the container …
/// try await driver.unmount(name: "data", callerID: containerID)            // at its exit
/// try await driver.remove(name: "data")                                   // `volume rm`
/// ```
public protocol VolumeDriver: Sendable {
    /// The driver's name (`local`, or a plugin's).
    var name: String { get }
    /// Creates the volume; `options` are `volume create -o` / `--mount volume-opt=` options.
    /// - Throws: `.invalidArgument` for options the driver does not understand.
    func create(name: String, options: [String: String]) async throws(BerthError)
    /// Removes the volume and its data.
    func remove(name: String) async throws(BerthError)
    /// Makes the volume available for `callerID` and returns its host directory.
    func mount(name: String, callerID: String) async throws(BerthError) -> String
    /// Releases the volume for `callerID`.
    func unmount(name: String, callerID: String) async throws(BerthError)
    /// The host directory of the volume (its data, whether or not it is mounted).
    func path(name: String) async throws(BerthError) -> String
    /// Bytes used by the volume's data (-1 when unknown).
    func usage(name: String) async -> Int64
}
