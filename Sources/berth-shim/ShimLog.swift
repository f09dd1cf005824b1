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
