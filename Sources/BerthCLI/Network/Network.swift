import ArgumentParser
import BerthCore

extension Berth {
    /// `berth network`: user-defined networks.
    struct Network: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "network",
            abstract: "Manage networks.",
            usage: "berth network COMMAND",
            subcommands: [
                NetworkCreate.self, NetworkLs.self, NetworkInspect.self, NetworkRm.self, NetworkPrune.self,
                NetworkConnect.self, NetworkDisconnect.self,
            ]
        )
    }

    struct NetworkCreate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create a network.", usage: "berth network create [OPTIONS] NETWORK")
        @ParentCommand var berth: Berth
        @Option(name: .shortAndLong, help: ArgumentHelp("Driver to manage the network.", valueName: "string"))
        var driver = "bridge"
        @Option(help: ArgumentHelp("Subnet in CIDR format.", valueName: "strings")) var subnet: [String] = []
        @Option(help: ArgumentHelp("IPv4 gateway for the subnet.", valueName: "strings")) var gateway: [String] = []
        @Flag(help: "Restrict external access to the network.") var `internal` = false
        @Option(help: ArgumentHelp("Set metadata on a network.", valueName: "list")) var label: [String] = []
        @Option(name: .shortAndLong, help: ArgumentHelp("Set driver specific options.", valueName: "map"))
        var opt: [String] = []
        @Option(
            name: .customLong("ipam-driver"), help: ArgumentHelp("IP Address Management Driver.", valueName: "string"))
        var ipamDriver = "default"
        @Option(
            name: .customLong("ipam-opt"), help: ArgumentHelp("Set IPAM driver specific options.", valueName: "map"))
        var ipamOpt: [String] = []
        @Argument(help: ArgumentHelp("The network's name.", valueName: "network")) var name: String

        func run() throws {
            var ipam: [JSONValue] = []
            for (i, s) in subnet.enumerated() {
                var c: JSONValue = .object([("Subnet", .string(s))])
                if i < gateway.count { c["Gateway"] = .string(gateway[i]) }
                ipam.append(c)
            }
            if subnet.isEmpty, !gateway.isEmpty {
                throw CLIError("every ip-range or gateway must have a corresponding subnet")
            }
            func pairs(_ list: [String]) -> [String: String] {
                var m: [String: String] = [:]
                for item in list {
                    let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
                    m[kv[0]] = kv.count == 2 ? kv[1] : ""
                }
                return m
            }
            let body: JSONValue = .object([
                ("Name", .string(name)), ("Driver", .string(driver)), ("Internal", .bool(`internal`)),
                (
                    "IPAM",
                    .object([
                        ("Driver", .string(ipamDriver)), ("Config", .array(ipam)), ("Options", .map(pairs(ipamOpt))),
                    ])
                ),
                ("Labels", .map(pairs(label))), ("Options", .map(pairs(opt))),
            ])
            let r = try berth.daemon.json("POST", "/networks/create", body: body)
            Output.line(r["Id"]?.stringValue ?? "")
        }
    }

    struct NetworkLs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List networks.", usage: "berth network ls [OPTIONS]", aliases: ["list"])
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Only display network IDs.") var quiet = false
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Provide filter values (e.g. \"driver=bridge\").", valueName: "filter"))
        var filter: [String] = []

        func run() throws {
            let list = try berth.daemon.json("GET", "/networks", query: try Filters.query(filter)).arrayValue ?? []
            if quiet {
                for n in list { Output.line(String((n["Id"]?.stringValue ?? "").prefix(12))) }
                return
            }
            var w = TableWriter()
            w.write("NETWORK ID\tNAME\tDRIVER\tSCOPE\n")
            for n in list {
                let id = String((n["Id"]?.stringValue ?? "").prefix(12))
                w.write(
                    "\(id)\t\(n["Name"]?.stringValue ?? "")\t\(n["Driver"]?.stringValue ?? "")\t\(n["Scope"]?.stringValue ?? "")\n"
                )
            }
            Output.out(w.render())
        }
    }

    struct NetworkInspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect", abstract: "Display detailed information on one or more networks.",
            usage: "berth network inspect [OPTIONS] NETWORK [NETWORK...]")
        @ParentCommand var berth: Berth
        @Option(name: .shortAndLong, help: ArgumentHelp("Format output using a custom template.", valueName: "string"))
        var format: String?
        @Argument(help: ArgumentHelp("The networks.", valueName: "network")) var networks: [String] = []

        func validate() throws {
            if networks.isEmpty { throw ValidationError("'berth network inspect' requires at least 1 argument") }
        }

        func run() throws { try Inspection.run(berth.daemon, networks, format: format) { "/networks/\($0)" } }
    }

    struct NetworkRm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove one or more networks.",
            usage: "berth network rm NETWORK [NETWORK...]", aliases: ["remove"])
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The networks.", valueName: "network")) var networks: [String] = []

        func validate() throws {
            if networks.isEmpty { throw ValidationError("'berth network rm' requires at least 1 argument") }
        }

        func run() throws {
            let daemon = berth.daemon
            try Batch.run(networks) { name throws(CLIError) in
                try daemon.checked("DELETE", "/networks/\(Daemon.escape(name))")
                Output.line(name)
            }
        }
    }

    struct NetworkPrune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove all unused networks.", usage: "berth network prune [OPTIONS]")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false

        func run() throws {
            if !force {
                throw CLIError(
                    "WARNING! This will remove all custom networks not used by at least one container.\nUse -f to proceed without a prompt"
                )
            }
            let r = try berth.daemon.json("POST", "/networks/prune")
            Prune.report(title: "Deleted Networks:", items: r["NetworksDeleted"]?.stringArray ?? [], space: nil)
        }
    }

    struct NetworkConnect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connect", abstract: "Connect a container to a network.",
            usage: "berth network connect [OPTIONS] NETWORK CONTAINER")
        @ParentCommand var berth: Berth
        @Option(help: ArgumentHelp("Add network-scoped alias for the container.", valueName: "strings"))
        var alias: [String] = []
        @Option(help: ArgumentHelp("IPv4 address (e.g., 172.30.100.104).", valueName: "string")) var ip: String?
        @Argument(help: ArgumentHelp("The network.", valueName: "network")) var network: String
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String

        func run() throws {
            var endpoint: JSONValue = .object([])
            if !alias.isEmpty { endpoint["Aliases"] = .strings(alias) }
            if let ip { endpoint["IPAMConfig"] = .object([("IPv4Address", .string(ip))]) }
            let body: JSONValue = .object([("Container", .string(container)), ("EndpointConfig", endpoint)])
            try berth.daemon.checked(
                "POST", "/networks/\(Daemon.escape(network))/connect", body: Array(body.serialized.utf8))
        }
    }

    struct NetworkDisconnect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disconnect", abstract: "Disconnect a container from a network.",
            usage: "berth network disconnect [OPTIONS] NETWORK CONTAINER")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Force the container to disconnect from a network.") var force = false
        @Argument(help: ArgumentHelp("The network.", valueName: "network")) var network: String
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String

        func run() throws {
            let body: JSONValue = .object([("Container", .string(container)), ("Force", .bool(force))])
            try berth.daemon.checked(
                "POST", "/networks/\(Daemon.escape(network))/disconnect", body: Array(body.serialized.utf8))
        }
    }

    /// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, as `docker port` prints them.
    struct Port: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "port", abstract: "List port mappings or a specific mapping for the container.",
            usage: "berth port CONTAINER [PRIVATE_PORT[/PROTO]]")
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String
        @Argument(help: ArgumentHelp("A private port.", valueName: "private_port")) var privatePort: String?

        func run() throws {
            let c = try berth.daemon.json("GET", "/containers/\(Daemon.escape(container))/json")
            var lines: [String] = []
            for (key, bindings) in c["NetworkSettings"]?["Ports"]?.objectMembers ?? [] {
                if let privatePort {
                    let want = privatePort.contains("/") ? privatePort : privatePort + "/tcp"
                    if key != want { continue }
                }
                for b in bindings.arrayValue ?? [] {
                    let hostPort = "\(b["HostIp"]?.stringValue ?? ""):\(b["HostPort"]?.stringValue ?? "")"
                    lines.append(privatePort == nil ? "\(key) -> \(hostPort)" : hostPort)
                }
            }
            if lines.isEmpty, let privatePort {
                throw CLIError(
                    "Error: No public port '\(privatePort.contains("/") ? privatePort : privatePort + "/tcp")' published for \(container)"
                )
            }
            for l in lines.sorted() { Output.line(l) }
        }
    }
}
