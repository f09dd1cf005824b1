import ArgumentParser
import BerthCore

extension Berth {
    /// `berth volume`: named volumes.
    struct Volume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "volume",
            abstract: "Manage volumes.",
            usage: "berth volume COMMAND",
            subcommands: [VolumeCreate.self, VolumeLs.self, VolumeInspect.self, VolumeRm.self, VolumePrune.self]
        )
    }

    /// `key=value` items of `--label` and `--opt` as a map.
    static func keyValues(_ list: [String]) -> [String: String] {
        var m: [String: String] = [:]
        for item in list {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            m[kv[0]] = kv.count == 2 ? kv[1] : ""
        }
        return m
    }

    struct VolumeCreate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create a volume.", usage: "berth volume create [OPTIONS] [VOLUME]")
        @ParentCommand var berth: Berth
        @Option(name: .shortAndLong, help: ArgumentHelp("Specify volume driver name.", valueName: "string"))
        var driver = "local"
        @Option(help: ArgumentHelp("Set metadata for a volume.", valueName: "list")) var label: [String] = []
        @Option(name: .shortAndLong, help: ArgumentHelp("Set driver specific options.", valueName: "map"))
        var opt: [String] = []
        @Argument(help: ArgumentHelp("The volume's name (a random one when omitted).", valueName: "volume"))
        var name: String?

        func run() throws {
            let body: JSONValue = .object([
                ("Name", .string(name ?? "")), ("Driver", .string(driver)),
                ("DriverOpts", .map(Berth.keyValues(opt))), ("Labels", .map(Berth.keyValues(label))),
            ])
            let r = try berth.daemon.json("POST", "/volumes/create", body: body)
            Output.line(r["Name"]?.stringValue ?? "")
        }
    }

    struct VolumeLs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List volumes.", usage: "berth volume ls [OPTIONS]", aliases: ["list"])
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Only display volume names.") var quiet = false
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Provide filter values (e.g. \"dangling=true\").", valueName: "filter"))
        var filter: [String] = []
        @Option(help: ArgumentHelp("Format output using a custom template.", valueName: "string")) var format: String?

        func run() throws {
            let list =
                try berth.daemon.json("GET", "/volumes", query: try Filters.query(filter))["Volumes"]?.arrayValue ?? []
            if quiet {
                for v in list { Output.line(v["Name"]?.stringValue ?? "") }
                return
            }
            if let format, !format.isEmpty {
                try Inspection.render(list, format: format)
                return
            }
            var w = TableWriter()
            w.write("DRIVER\tVOLUME NAME\n")
            for v in list { w.write("\(v["Driver"]?.stringValue ?? "")\t\(v["Name"]?.stringValue ?? "")\n") }
            Output.out(w.render())
        }
    }

    struct VolumeInspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect", abstract: "Display detailed information on one or more volumes.",
            usage: "berth volume inspect [OPTIONS] VOLUME [VOLUME...]")
        @ParentCommand var berth: Berth
        @Option(name: .shortAndLong, help: ArgumentHelp("Format output using a custom template.", valueName: "string"))
        var format: String?
        @Argument(help: ArgumentHelp("The volumes.", valueName: "volume")) var volumes: [String] = []

        func validate() throws {
            if volumes.isEmpty { throw ValidationError("'berth volume inspect' requires at least 1 argument") }
        }

        func run() throws { try Inspection.run(berth.daemon, volumes, format: format) { "/volumes/\($0)" } }
    }

    struct VolumeRm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove one or more volumes.",
            usage: "berth volume rm [OPTIONS] VOLUME [VOLUME...]", aliases: ["remove"])
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Force the removal of one or more volumes.") var force = false
        @Argument(help: ArgumentHelp("The volumes.", valueName: "volume")) var volumes: [String] = []

        func validate() throws {
            if volumes.isEmpty { throw ValidationError("'berth volume rm' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            let query = force ? [("force", "1")] : []
            try Batch.run(volumes) { name throws(CLIError) in
                try daemon.checked("DELETE", "/volumes/\(Daemon.escape(name))", query: query)
                Output.line(name)
            }
        }
    }

    struct VolumePrune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove unused local volumes.", usage: "berth volume prune [OPTIONS]")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Remove all unused volumes, not just anonymous ones.") var all = false
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false
        @Option(help: ArgumentHelp("Provide filter values (e.g. \"label=<label>\").", valueName: "filter"))
        var filter: [String] = []

        func run() throws {
            if !force {
                throw CLIError(
                    "WARNING! This will remove anonymous local volumes not used by at least one container.\nUse -f to proceed without a prompt"
                )
            }
            let filters = filter + (all ? ["all=true"] : [])
            let r = try berth.daemon.json("POST", "/volumes/prune", query: try Filters.query(filters))
            Prune.report(
                title: "Deleted Volumes:", items: r["VolumesDeleted"]?.stringArray ?? [], space: r["SpaceReclaimed"])
        }
    }
}
