import Foundation

/// Runs `body` on an OS thread of its own and returns its result. For per-thread kernel state (the filesystem
/// uid) that must not leak into the threads other tests run on; the thread ends with `body`.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// `setfsuid(2)`, which Swift's Glibc module does not import. It changes the calling thread only (glibc does not
/// broadcast it to the other threads the way it does `setuid`).
@discardableResult
func setFilesystemUID(_ uid: UInt32) -> Int32 {
    typealias SetFSUID = @convention(c) (UInt32) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setfsuid") else { return -1 }
    return unsafeBitCast(symbol, to: SetFSUID.self)(uid)
}
