import ArgumentParser
import BerthCore

extension Berth {
    /// `berth ps`: list containers, as a table or through `--format`.
    struct Ps: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ps",
            abstract: "List containers.",
            usage: "berth ps [OPTIONS]"
        )

        static let defaultFormat =
            "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

        static let header: JSONValue = .object([
            ("ID", .string("CONTAINER ID")), ("Image", .string("IMAGE")), ("Command", .string("COMMAND")),
            ("CreatedAt", .string("CREATED AT")), ("RunningFor", .string("CREATED")), ("Ports", .string("PORTS")),
            ("State", .string("STATE")), ("Status", .string("STATUS")), ("Size", .string("SIZE")),
            ("Names", .string("NAMES")), ("Labels", .string("LABELS")), ("Mounts", .string("MOUNTS")),
            ("Networks", .string("NETWORKS")), ("LocalVolumes", .string("LOCAL VOLUMES")),
        ])

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Show all containers (default shows just running).")
        var all = false

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Filter output based on conditions provided.", valueName: "filter"))
        var filter: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Format output using a custom template ('table', 'table TEMPLATE', 'json' or a Go template).",
                valueName: "string"))
        var format: String?

        @Option(
            name: [.customShort("n"), .customLong("last")], parsing: .unconditional,
            help: ArgumentHelp("Show n last created containers (includes all states).", valueName: "int"))
        var last: Int = -1

        @Flag(name: .shortAndLong, help: "Show the latest created container (includes all states).")
        var latest = false

        @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.")
        var noTrunc = false

        @Flag(name: .shortAndLong, help: "Only display container IDs.")
        var quiet = false

        @Flag(name: .shortAndLong, help: "Display total file sizes.")
        var size = false

        func run() throws {
            var query: [(String, String)] = []
            if all { query.append(("all", "1")) }
            let filters = try Filters.query(filter)
            query += filters
            if latest, last == -1 {
                query.append(("limit", "1"))
            } else if last > 0 {
                query.append(("limit", String(last)))
            }
            if size { query.append(("size", "1")) }
            let list = try berth.daemon.json("GET", "/containers/json", query: query)
            let now = TimeFormat.nowNanos() / 1_000_000_000
            let rows = (list.arrayValue ?? []).map { Self.row($0, truncate: !noTrunc, now: now) }
            var text = quiet ? "{{.ID}}" : (format ?? "")
            if text.isEmpty || text == "table" { text = Self.defaultFormat + (size ? "\t{{.Size}}" : "") }
            let listFormat = try ListFormat(text, defaultTable: Self.defaultFormat)
            Output.out(try listFormat.render(rows: rows, header: Self.header))
        }

        /// The display fields of one `GET /containers/json` entry (docker/cli `ContainerContext`).
        static func row(_ c: JSONValue, truncate: Bool, now: Int64) -> JSONValue {
            let id = c["Id"]?.stringValue ?? ""
            var image = c["Image"]?.stringValue ?? ""
            if truncate, image.hasPrefix("sha256:") { image = TextFormat.shortID(image) }
            let command = c["Command"]?.stringValue ?? ""
            let created = c["Created"]?.int64Value ?? 0
            var names = (c["Names"]?.stringArray ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
            if truncate, let primary = names.first(where: { !$0.contains("/") }) { names = [primary] }
            let labels = (c["Labels"]?.stringMap ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let mounts = (c["Mounts"]?.arrayValue ?? []).map { m -> String in
                let name = m["Name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? m["Source"]?.stringValue ?? ""
                return truncate ? TextFormat.ellipsis(name, 15) : name
            }
            let networks = (c["NetworkSettings"]?["Networks"]?.objectMembers ?? []).map(\.0).sorted()
            let localVolumes = (c["Mounts"]?.arrayValue ?? []).filter { $0["Driver"]?.stringValue == "local" }.count
            let sizeRw = Double(c["SizeRw"]?.int64Value ?? 0)
            let sizeRoot = Double(c["SizeRootFs"]?.int64Value ?? 0)
            var size = HumanUnits.size(sizeRw)
            if sizeRoot > 0 { size += " (virtual \(HumanUnits.size(sizeRoot)))" }
            return .object([
                ("Command", .string(TextFormat.quote(truncate ? TextFormat.ellipsis(command, 20) : command))),
                ("CreatedAt", .string(TimeFormat.goTimeString(created))),
                ("ID", .string(truncate ? TextFormat.shortID(id) : id)),
                ("Image", .string(image)),
                ("Labels", .string(labels.joined(separator: ","))),
                ("LocalVolumes", .string(String(localVolumes))),
                ("Mounts", .string(mounts.joined(separator: ","))),
                ("Names", .string(names.joined(separator: ","))),
                ("Networks", .string(networks.joined(separator: ","))),
                ("Platform", .null),
                ("Ports", .string(ports(c["Ports"]?.arrayValue ?? []))),
                ("RunningFor", .string(HumanUnits.duration(seconds: Double(now - created)) + " ago")),
                ("Size", .string(size)),
                ("State", .string(c["State"]?.stringValue ?? "")),
                ("Status", .string(c["Status"]?.stringValue ?? "")),
            ])
        }

        /// `0.0.0.0:8080->80/tcp, 443/tcp`.
        static func ports(_ ports: [JSONValue]) -> String {
            ports.map { p -> String in
                let privatePort = p["PrivatePort"]?.intValue ?? 0
                let type = p["Type"]?.stringValue ?? "tcp"
                if let publicPort = p["PublicPort"]?.intValue, publicPort != 0 {
                    let ip = p["IP"]?.stringValue ?? ""
                    let host = ip.contains(":") ? "[\(ip)]" : ip
                    return "\(host):\(publicPort)->\(privatePort)/\(type)"
                }
                return "\(privatePort)/\(type)"
            }.joined(separator: ", ")
        }
    }
}
