import BerthOS
import CBerthLinux
import Foundation
import Glibc

/// Runs `body` on an OS thread of its own that first enters a new, private mount namespace in which `file` is
/// bind-mounted over `target`. Mount namespaces are per thread, so the rest of the test process and the host
/// keep seeing the real `target`; the namespace, and the mount, go away when the thread ends.
func withBindMount<T: Sendable>(
    _ file: String, over target: String, _ body: @escaping @Sendable () -> T
) async throws -> T {
    let outcome: Result<T, TestMountError> = await withCheckedContinuation { continuation in
        Thread {
            let newNamespace: Int32 = 0x0002_0000  // CLONE_NEWNS
            guard berth_unshare(newNamespace) == 0 else {
                continuation.resume(returning: .failure(TestMountError("unshare: errno \(errno)")))
                return
            }
            // Private first, so that nothing below propagates back to the host's mount namespace.
            guard mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else {
                continuation.resume(returning: .failure(TestMountError("make / private: errno \(errno)")))
                return
            }
            guard mount(file, target, nil, UInt(MS_BIND), nil) == 0 else {
                continuation.resume(returning: .failure(TestMountError("bind \(file) on \(target): errno \(errno)")))
                return
            }
            continuation.resume(returning: .success(body()))
        }.start()
    }
    return try outcome.get()
}

struct TestMountError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
