import Foundation

/// Runs a program to its end; its stdout and stderr together.
public func run(_ path: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Like `run`, with no signals blocked in the child: a process started from a test thread inherits that thread's
/// blocked SIGTERM, so a script that stops its own children with `kill` would wait for them forever.
public func runUnblocked(_ path: String, _ args: [String]) throws -> (status: Int32, output: String) {
    try run(
        "/usr/bin/python3",
        [
            "-c",
            "import os,signal,sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
            path,
        ] + args)
}
