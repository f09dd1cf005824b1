/// The arguments of HEALTHCHECK, shaped like the image config's `Healthcheck` object.
///
/// `HEALTHCHECK NONE` gives `test == ["NONE"]` (which disables a check inherited from the base image);
/// `HEALTHCHECK CMD ["a", "b"]` gives `["CMD", "a", "b"]` and `HEALTHCHECK CMD a b` gives `["CMD-SHELL", "a b"]`.
/// Durations are nanoseconds; 0 means "not set" (the engine's default applies), as in Docker.
public struct Healthcheck: Sendable, Equatable {
    public var test: [String]
    /// `--interval`, in nanoseconds.
    public var interval: Int64
    /// `--timeout`, in nanoseconds.
    public var timeout: Int64
    /// `--start-period`, in nanoseconds.
    public var startPeriod: Int64
    /// `--start-interval`, in nanoseconds.
    public var startInterval: Int64
    /// `--retries`; 0 when not set.
    public var retries: Int

    public init(
        test: [String], interval: Int64 = 0, timeout: Int64 = 0, startPeriod: Int64 = 0, startInterval: Int64 = 0,
        retries: Int = 0
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }

    /// `HEALTHCHECK NONE`.
    public var isDisabled: Bool { test == ["NONE"] }
}
