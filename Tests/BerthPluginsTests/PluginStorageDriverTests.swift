import BerthCore
import BerthPlugins
import BerthTestSupport
import Foundation
import Glibc
import Logging
import Testing

/// Blocking plugin calls on a thread of their own each (the daemon uses its thread pool).
struct ThreadRunner: BlockingRunner {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(BerthError) -> T) async throws(BerthError) -> T {
        let result: Result<T, BerthError> = await withCheckedContinuation { done in
            Thread.detachNewThread {
                do throws(BerthError) { done.resume(returning: .success(try body())) } catch {
                    done.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

/// The GraphDriver adapter against plugins/storage-copy (Python): the same conformance suite the built-in
/// storage drivers pass, through the plugin protocol.
@Suite(.serialized)
struct PluginStorageDriverTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func theCopyPluginPassesTheStorageDriverConformanceSuite() async throws {
        try await withTemporaryDirectory { dir in
            let socket = dir + "/copyfs.sock"
            let plugin = Process()
            plugin.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            plugin.arguments = [Self.repoRoot + "/plugins/storage-copy/berth-storage-copy.py", "--socket", socket]
            plugin.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try plugin.run()
            defer {
                kill(plugin.processIdentifier, SIGKILL)
                plugin.waitUntilExit()
            }
            let registry = PluginRegistry(
                dirs: [dir], timeoutSeconds: 30, runner: ThreadRunner(), logger: Logger(label: "test"))
            try await StorageDriverConformance {
                PluginStorageDriver(name: "copyfs", registry: registry, home: $0, waitSeconds: 10)
            }.runAll()
        }
    }
}
