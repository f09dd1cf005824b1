/// Runs blocking work (libcurl transfers, plugin calls) off the caller's executor: the daemon passes its thread
/// pool.
public protocol BlockingRunner: Sendable {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(BerthError) -> T) async throws(BerthError) -> T
}
