import BerthCore
import BerthDockerIgnore

/// The settings of one build (`POST /build`'s query, `berth build`'s flags).
public struct BuildOptions: Sendable {
    /// The Dockerfile's path inside the context.
    public var dockerfile = "Dockerfile"
    public var tags: [String] = []
    /// `--build-arg NAME=VALUE`; a nil value means the name was given without one (and is then unset).
    public var buildArgs: [String: String?] = [:]
    /// `--label`: added to the final image.
    public var labels: [String: String] = [:]
    /// `--target`: the last stage to build.
    public var target: String?
    public var noCache = false
    /// `--cache-from`: only cache entries that lead to these images are used (none: the local cache).
    public var cacheFrom: [String] = []
    /// `--pull`: always pull the FROM images.
    public var pull = false
    /// `--network`: the RUN containers' network mode ("" for the default).
    public var network = ""
    public var platform: String?
    /// `-q`: only the image ID is printed at the end.
    public var quiet = false

    public init() {}
}

/// A RUN whose command exited non-zero: the build's error, with the exit code the API reports in
/// `errorDetail.code`.
public struct BuildCommandFailure: Error, Sendable {
    public let exitCode: Int32
    public let message: String

    public init(command: [String], exitCode: Int32) {
        self.exitCode = exitCode
        message = "The command '\(command.joined(separator: " "))' returned a non-zero code: \(exitCode)"
    }

    public var berthError: BerthError { BerthError(.invalidArgument, message, cause: self) }
}
