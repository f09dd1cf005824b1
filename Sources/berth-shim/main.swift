// berth-shim: one per container. Single-threaded Swift with the static stdlib: no Foundation, Dispatch,
// async or NIO, because it forks and enters namespaces (see ARCHITECTURE.md §1).
//
//   berth-shim start <state-dir>     fd 3: the daemon's end of a socketpair
import BerthCore
import Glibc

let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[1] == "start" else {
    ShimLog.fatal("usage: berth-shim start STATE_DIR (started by berthd)")
}
signal(SIGPIPE, SIG_IGN)
do {
    let shim = try Shim(stateDir: arguments[2], daemonFD: 3)
    shim.detach()
    ShimTrace.mark("detached")
    exit(shim.run())
} catch {
    ShimLog.fatal("berth-shim: \(error.message)")
}
