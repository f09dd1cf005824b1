import Testing

@testable import BerthCLI

/// `--help` output is generated text: it is compared with committed snapshots so changes show in review.
/// Regenerate with `BERTH_UPDATE_SNAPSHOTS=1 swift test --filter BerthCLITests`.
struct HelpSnapshotTests {
    static func check(_ name: String, _ actual: String) throws {
        let path = "Snapshots/\(name)"
        if Fixtures.updating { try Fixtures.write(path, actual) }
        #expect(actual == (try Fixtures.read(path)), "\(path) differs; regenerate it only for an intended change")
    }

    @Test func runHelp() throws {
        try Self.check("run-help.txt", Berth.helpMessage(for: Berth.Run.self, columns: 80) + "\n")
    }

    @Test func rootHelp() throws {
        try Self.check("berth-help.txt", Berth.helpMessage(columns: 80) + "\n")
    }

    @Test func psHelp() throws {
        try Self.check("ps-help.txt", Berth.helpMessage(for: Berth.Ps.self, columns: 80) + "\n")
    }

    /// `run -h` is the hostname, as in docker; only `--help` asks for help there.
    @Test func runShortHIsHostname() throws {
        let options = try ContainerOptions.parse(["-h", "box1", "busybox", "hostname"])
        #expect(options.hostname == "box1")
        #expect(options.imageAndCommand == ["busybox", "hostname"])
    }

    /// Flags after the image belong to the container's command (`-c` is not `--cpu-shares` there).
    @Test func argumentsAfterTheImageArePassedThrough() throws {
        let options = try ContainerOptions.parse(["-it", "--rm", "busybox", "sh", "-c", "echo -e hi", "--rm"])
        #expect(options.interactive && options.tty && options.autoRemove)
        #expect(options.imageAndCommand == ["busybox", "sh", "-c", "echo -e hi", "--rm"])
        #expect(options.cpuShares == 0)
    }

    @Test func hostComesFromTheFlagThenTheEnvironment() throws {
        let root = try Berth.parse(["-H", "tcp://127.0.0.1:2375"])
        #expect(root.resolvedHost == "tcp://127.0.0.1:2375")
    }
}
