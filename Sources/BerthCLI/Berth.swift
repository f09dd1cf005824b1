import ArgumentParser
import BerthAPIClient
import BerthCore
import Glibc

/// `berth`: the Docker-style command line for `berthd`, speaking the Docker Engine API.
///
/// Each command is a synchronous `ParsableCommand` in its own file (`Container/Run.swift`, …) that talks to the
/// daemon through the blocking `APIClient`, so start-up stays fast. `main()` prints failures the way the docker
/// CLI does and exits with its codes: 125 for usage errors, the daemon's answer otherwise.
public struct Berth: ParsableCommand {
    /// The client's version, shown by `berth version`.
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A self-sufficient runtime for containers, compatible with the Docker Engine API.",
        usage: "berth [OPTIONS] COMMAND",
        subcommands: [
            Run.self, Create.self, Start.self, Stop.self, Restart.self, Kill.self, Rm.self, Ps.self, Logs.self,
            Wait.self, Export.self, Inspect.self, Images.self, Import.self, Pull.self, Push.self, Save.self, Load.self,
            Build.self, Login.self, Logout.self, Search.self, Registry.self, Tag.self, Rmi.self, Version.self,
            Info.self, Events.self, System.self, Network.self, Port.self, Attach.self, Exec.self, Volume.self,
            Top.self, Stats.self, Cp.self, Pause.self, Unpause.self, Diff.self, Commit.self, Rename.self, Update.self,
            ContainerGroup.self, ImageGroup.self, PluginGroup.self,
        ]
    )

    @Option(
        name: [.customShort("H"), .long],
        help: ArgumentHelp(
            "Daemon socket to connect to: unix:///path or tcp://host:port.",
            discussion: "Defaults to $BERTH_HOST, then \(APIClient.defaultHost).", valueName: "host"))
    var host: String?

    @Flag(name: [.customShort("v"), .customLong("version")], help: "Print version information and quit.")
    var showVersion = false

    public init() {}

    /// `berth` alone prints the help; `berth --version` the version line.
    public func run() throws {
        guard showVersion else {
            Output.out(Self.helpMessage() + "\n")
            return
        }
        Output.line("Berth version \(Self.version)")
    }

    /// The daemon address: `-H`, else `$BERTH_HOST`, else the default socket.
    var resolvedHost: String {
        if let host, !host.isEmpty { return host }
        if let env = FileInput.environment("BERTH_HOST"), !env.isEmpty { return env }
        return APIClient.defaultHost
    }

    var daemon: Daemon { Daemon(host: resolvedHost) }

    public static func main() { main(nil) }

    /// Parses `arguments` (the process's when nil), runs the command and exits with Docker's codes.
    public static func main(_ arguments: [String]?) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as CLIError {
            Output.error(error.rendered)
            Glibc.exit(error.exitCode)
        } catch let error as BerthError {
            Output.error(error.message)
            Glibc.exit(1)
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            // Flag and argument errors: the docker CLI exits 125 for these.
            Output.error(fullMessage(for: error))
            Glibc.exit(125)
        }
        Glibc.exit(0)
    }
}
