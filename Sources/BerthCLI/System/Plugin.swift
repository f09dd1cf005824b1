import ArgumentParser
import BerthCore

extension Berth {
    /// `berth plugin ls`: the operator plugins in the daemon's plugin directories.
    struct PluginGroup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plugin", abstract: "Manage plugins.", usage: "berth plugin COMMAND",
            subcommands: [PluginList.self])
    }

    struct PluginList: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List plugins: what each implements, where it listens, its state.",
            usage: "berth plugin ls [OPTIONS]", aliases: ["list"])
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Only display plugin names") var quiet = false

        func run() throws {
            let list = try berth.daemon.json("GET", "/plugins").arrayValue ?? []
            if quiet {
                for p in list { Output.line(p["Name"]?.stringValue ?? "") }
                return
            }
            var table = TableWriter()
            table.write("NAME\tIMPLEMENTS\tADDRESS\tSTATE\n")
            for p in list {
                let c = p["Config"]
                let implements = c?["Implements"]?.stringArray ?? []
                table.write(
                    "\(p["Name"]?.stringValue ?? "")\t\(implements.isEmpty ? "-" : implements.joined(separator: ","))\t"
                        + "\(c?["Interface"]?["Socket"]?.stringValue ?? "")\t\(c?["State"]?.stringValue ?? "")\n")
            }
            Output.out(table.render())
        }
    }
}
