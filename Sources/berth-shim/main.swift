// berth-shim: one per container. Single-threaded Swift with the static stdlib: no Foundation, Dispatch,
// async or NIO, because it forks and enters namespaces (see ARCHITECTURE.md §1).
//
//   berth-shim start <state-dir>     fd 3: the daemon's end of a socketpair
//   berth-shim netconf PID IFNAME ADDRESS PREFIX [GATEWAY]
//                                                    configure an interface inside PID's network namespace,
//                                                    with a default route through GATEWAY (network
//                                                    connect and disconnect on a running container)
import BerthCore
import CBerthLinux
import Glibc

let arguments = CommandLine.arguments
if arguments.count == 6 || arguments.count == 7, arguments[1] == "netconf" {
    let fd = open("/proc/\(arguments[2])/ns/net", O_RDONLY | O_CLOEXEC)
    guard fd >= 0, berth_setns(fd, BERTH_CLONE_NEWNET) == 0 else {
        ShimLog.fatal("berth-shim netconf: cannot enter the network namespace of \(arguments[2])")
    }
    guard let address = IPv4Address(arguments[4])?.bytes, let prefix = Int32(arguments[5]) else {
        ShimLog.fatal("berth-shim netconf: bad address \(arguments[4])/\(arguments[5])")
    }
    var inside = berth_net_inside()
    inside.address = address
    inside.prefix = prefix
    if arguments.count == 7 {
        guard let gateway = IPv4Address(arguments[6])?.bytes else {
            ShimLog.fatal("berth-shim netconf: bad gateway \(arguments[6])")
        }
        inside.has_gateway = 1
        inside.gateway = gateway
    }
    var message = [CChar](repeating: 0, count: 200)
    let rc = arguments[3].withCString { name in
        inside.name = name
        return berth_net_configure_inside(&inside, &message, message.count)
    }
    if rc < 0 { ShimLog.fatal("berth-shim netconf: \(String(nulTerminated: message))") }
    exit(0)
}
guard arguments.count == 3, arguments[1] == "start" else {
    ShimLog.fatal("usage: berth-shim start STATE_DIR (started by berthd)")
}
signal(SIGPIPE, SIG_IGN)
do {
    let shim = try Shim(stateDir: arguments[2], daemonFD: 3)
    // A container's shim leaves the daemon's children (it outlives a daemon restart and is adopted by the
    // next daemon); an exec's is not adopted after a restart, and stays the daemon's child.
    if !shim.isExec {
        shim.detach()
        ShimTrace.mark("detached")
    }
    exit(shim.run())
} catch {
    ShimLog.fatal("berth-shim: \(error.message)")
}
