import CBerthLinux
import Glibc

/// Diagnostics of the shim itself go to stderr (the daemon's log file, or /dev/null once detached).
enum ShimLog {
    static func write(_ message: String) {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func fatal(_ message: String) -> Never {
        write(message)
        exit(125)
    }
}

/// Phase timings for `berth-shim`, written to stderr (the shim's log) when the spec asks for them.
enum ShimTrace {
    nonisolated(unsafe) static var enabled = false
    nonisolated(unsafe) static var start: Int64 = berth_monotonic_ns()

    static func mark(_ phase: String) {
        guard enabled else { return }
        let ms = Double(berth_monotonic_ns() - start) / 1e6
        ShimLog.write("trace \(phase) \(Int(ms * 1000))us")
    }
}
