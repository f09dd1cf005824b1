import ArgumentParser
import BerthCore

extension Berth {
    /// `berth system`: the engine as a whole.
    struct System: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "system",
            abstract: "Manage Berth.",
            usage: "berth system COMMAND",
            subcommands: [SystemHooks.self, Info.self, Events.self, SystemDf.self, SystemPrune.self]
        )
    }

    /// `berth system hooks`: the Lua hook scripts the daemon loaded, in the order they run, and their events.
    struct SystemHooks: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hooks",
            abstract: "List the loaded Lua hook scripts and the events each handles.",
            usage: "berth system hooks [OPTIONS]"
        )

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Only display script names.") var quiet = false

        func run() throws {
            let info = try berth.daemon.json("GET", "/info")
            guard let section = info["Berth"] else {
                throw CLIError("the daemon does not report hook scripts (not a Berth daemon?)")
            }
            Output.out(Self.render(section, quiet: quiet))
        }

        static func render(_ section: JSONValue, quiet: Bool) -> String {
            let scripts = section["Hooks"]?.arrayValue ?? []
            if quiet { return scripts.compactMap { $0["Name"]?.stringValue }.map { $0 + "\n" }.joined() }
            var w = TableWriter()
            w.write("SCRIPT\tEVENTS\n")
            for s in scripts {
                w.write(
                    "\(s["Name"]?.stringValue ?? "")\t\((s["Events"]?.stringArray ?? []).joined(separator: ", "))\n")
            }
            let dir = section["HooksDir"]?.stringValue ?? ""
            return w.render() + (scripts.isEmpty ? "(no scripts in \(dir))\n" : "")
        }
    }
}
