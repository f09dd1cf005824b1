import BerthTestSupport
import Foundation
import Glibc

/// Debian's docker.io `dockerd` on a private socket, data root and exec root, with no bridge and no iptables
/// rules (the tests use it for images only: pull, push, save, load). `.ci/run` installs docker.io; a machine
/// without it fails these tests rather than skipping them.
final class RealDocker {
    let dir: String
    let process = Process()
    var socket: String { dir + "/docker.sock" }

    init(in parent: String) throws {
        dir = parent + "/dockerd"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard
            let dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw TestFailure("dockerd not found: install Debian's docker.io (contrib/setup.sh does)")
        }
        // Through python3, which unblocks SIGTERM (blocked in a child of a test thread) so that dockerd can stop
        // its containerd on the way out.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            "import os,signal,sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
            dockerd, "--data-root", dir + "/data", "--exec-root", dir + "/exec", "--pidfile", dir + "/pid",
            "-H", "unix://" + socket, "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
            "--storage-driver", "vfs", "--log-level", "error",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<200 {
            if (try? docker(["version", "--format", "{{.Server.Version}}"]))?.status == 0 { return }
            usleep(100_000)
        }
        stop()
        throw TestFailure("dockerd did not start")
    }

    /// The docker CLI against this dockerd.
    func docker(_ args: [String]) throws -> (status: Int32, output: String) {
        try run("/usr/bin/env", ["DOCKER_HOST=unix://" + socket, "DOCKER_CONFIG=" + dir + "/config", "docker"] + args)
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        var waited = 0
        while process.isRunning, waited < 150 {
            usleep(100_000)
            waited += 1
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // A containerd left behind by a dockerd that did not stop cleanly.
        _ = try? run("/usr/bin/pkill", ["-KILL", "-f", dir + "/exec/containerd"])
    }

    deinit { stop() }
}
