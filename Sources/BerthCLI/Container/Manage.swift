import ArgumentParser
import BerthCore
import Glibc

extension Berth {
    /// `berth pause`: freeze every process of the containers.
    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause", abstract: "Pause all processes within one or more containers.",
            usage: "berth pause CONTAINER [CONTAINER...]")
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The containers.", valueName: "container")) var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth pause' requires at least 1 argument") }
        }

        func run() throws { try Berth.postEach(berth.daemon, containers, "pause") }
    }

    /// `berth unpause`.
    struct Unpause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unpause", abstract: "Unpause all processes within one or more containers.",
            usage: "berth unpause CONTAINER [CONTAINER...]")
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The containers.", valueName: "container")) var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth unpause' requires at least 1 argument") }
        }

        func run() throws { try Berth.postEach(berth.daemon, containers, "unpause") }
    }

    /// `POST /containers/NAME/ACTION` for each container, printing the names done (`pause`, `unpause`).
    static func postEach(_ daemon: Daemon, _ containers: [String], _ action: String) throws {
        try Batch.run(containers) { name throws(CLIError) in
            try daemon.checked("POST", "/containers/\(Daemon.escape(name))/\(action)")
            Output.line(name)
        }
    }

    /// `berth top CONTAINER [ps OPTIONS]`.
    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top", abstract: "Display the running processes of a container.",
            usage: "berth top CONTAINER [ps OPTIONS]")
        @ParentCommand var berth: Berth
        @Argument(
            parsing: .captureForPassthrough, help: ArgumentHelp("The container and ps options.", valueName: "container")
        )
        var arguments: [String] = []

        func run() throws {
            guard let container = arguments.first else {
                throw CLIError("'berth top' requires at least 1 argument").withHelp("top")
            }
            let psArgs = arguments.dropFirst().joined(separator: " ")
            let r = try berth.daemon.json(
                "GET", "/containers/\(Daemon.escape(container))/top", query: psArgs.isEmpty ? [] : [("ps_args", psArgs)]
            )
            var w = TableWriter()
            w.write((r["Titles"]?.stringArray ?? []).joined(separator: "\t") + "\n")
            for p in r["Processes"]?.arrayValue ?? [] { w.write((p.stringArray ?? []).joined(separator: "\t") + "\n") }
            Output.out(w.render())
        }
    }

    /// `berth diff`: `C`, `A` and `D` lines of a container's changes.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff", abstract: "Inspect changes to files or directories on a container's filesystem.",
            usage: "berth diff CONTAINER")
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String

        func run() throws {
            let changes =
                try berth.daemon.json("GET", "/containers/\(Daemon.escape(container))/changes").arrayValue ?? []
            for c in changes {
                let kind = ["C", "A", "D"][min(2, max(0, c["Kind"]?.intValue ?? 0))]
                Output.line("\(kind) \(c["Path"]?.stringValue ?? "")")
            }
        }
    }

    /// `berth commit`: a new image from a container's changes.
    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "commit", abstract: "Create a new image from a container's changes.",
            usage: "berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")
        @ParentCommand var berth: Berth
        @Option(name: .shortAndLong, help: ArgumentHelp("Author.", valueName: "string")) var author = ""
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Apply Dockerfile instruction to the created image.", valueName: "list"))
        var change: [String] = []
        @Option(name: .shortAndLong, help: ArgumentHelp("Commit message.", valueName: "string")) var message = ""
        @Option(name: .shortAndLong, help: ArgumentHelp("Pause container during commit.", valueName: "bool"))
        var pause = true
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String
        @Argument(help: ArgumentHelp("The new image's name.", valueName: "repository")) var reference: String?

        func run() throws {
            var query: [(String, String)] = [
                ("container", container), ("comment", message), ("author", author), ("pause", pause ? "1" : "0"),
            ]
            if let reference, !reference.isEmpty {
                let name = ImageName(reference)
                query.append(("repo", name.repository))
                if let tag = name.tag { query.append(("tag", tag)) }
            }
            for c in change { query.append(("changes", c)) }
            let r = try berth.daemon.json("POST", "/commit", query: query, body: .object([]))
            Output.line(r["Id"]?.stringValue ?? "")
        }
    }

    /// `berth rename`.
    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rename", abstract: "Rename a container.", usage: "berth rename CONTAINER NEW_NAME")
        @ParentCommand var berth: Berth
        @Argument(help: ArgumentHelp("The container.", valueName: "container")) var container: String
        @Argument(help: ArgumentHelp("Its new name.", valueName: "new-name")) var newName: String

        func run() throws {
            try berth.daemon.checked(
                "POST", "/containers/\(Daemon.escape(container))/rename", query: [("name", newName)])
        }
    }

    /// `berth update`: resource limits and the restart policy of containers.
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Update configuration of one or more containers.",
            usage: "berth update [OPTIONS] CONTAINER [CONTAINER...]")
        @ParentCommand var berth: Berth
        @Option(name: .customLong("cpus"), help: ArgumentHelp("Number of CPUs.", valueName: "decimal")) var cpus:
            String?
        @Option(
            name: [.customShort("c"), .customLong("cpu-shares")],
            help: ArgumentHelp("CPU shares (relative weight).", valueName: "int"))
        var cpuShares: Int64?
        @Option(
            name: .customLong("cpuset-cpus"),
            help: ArgumentHelp("CPUs in which to allow execution (0-3, 0,1).", valueName: "string"))
        var cpusetCpus: String?
        @Option(name: .shortAndLong, help: ArgumentHelp("Memory limit.", valueName: "bytes")) var memory: String?
        @Option(
            name: .customLong("memory-swap"),
            help: ArgumentHelp("Swap limit equal to memory plus swap: -1 to enable unlimited swap.", valueName: "bytes")
        )
        var memorySwap: String?
        @Option(
            name: .customLong("pids-limit"), parsing: .unconditional,
            help: ArgumentHelp("Tune container pids limit (set -1 for unlimited).", valueName: "int"))
        var pidsLimit: Int64?
        @Option(help: ArgumentHelp("Restart policy to apply when a container exits.", valueName: "string")) var restart:
            String?
        @Argument(help: ArgumentHelp("The containers.", valueName: "container")) var containers: [String] = []

        func validate() throws {
            if containers.isEmpty { throw ValidationError("'berth update' requires at least 1 argument") }
        }

        func run() throws {
            var body: JSONValue = .object([])
            do throws(BerthError) {
                if let memory { body["Memory"] = .int(try ByteSize.parse(memory)) }
                if let memorySwap {
                    body["MemorySwap"] = .int(memorySwap == "-1" ? -1 : try ByteSize.parse(memorySwap))
                }
            } catch {
                throw CLIError("invalid argument: \(error.message)").withHelp("update")
            }
            if let cpus {
                guard let n = Double(cpus), n >= 0 else {
                    throw CLIError("invalid argument \"\(cpus)\" for \"--cpus\" flag")
                }
                body["NanoCpus"] = .int(Int64(n * 1e9))
            }
            if let cpuShares { body["CpuShares"] = .int(cpuShares) }
            if let cpusetCpus { body["CpusetCpus"] = .string(cpusetCpus) }
            if let pidsLimit { body["PidsLimit"] = .int(pidsLimit) }
            if let restart {
                let parts = restart.split(separator: ":", maxSplits: 1).map(String.init)
                body["RestartPolicy"] = .object([
                    ("Name", .string(parts[0])), ("MaximumRetryCount", .int(parts.count > 1 ? Int(parts[1]) ?? 0 : 0)),
                ])
            }
            let daemon = berth.daemon
            let payload = Array(body.serialized.utf8)
            try Batch.run(containers) { name throws(CLIError) in
                try daemon.checked("POST", "/containers/\(Daemon.escape(name))/update", body: payload)
                Output.line(name)
            }
        }
    }

    /// `berth stats`: CPU, memory, network and pids of running containers, refreshed every second (or once).
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats", abstract: "Display a live stream of container(s) resource usage statistics.",
            usage: "berth stats [OPTIONS] [CONTAINER...]")
        @ParentCommand var berth: Berth
        @Flag(name: .customLong("no-stream"), help: "Disable streaming stats and only pull the first result.")
        var noStream = false
        @Flag(name: .shortAndLong, help: "Show all containers (default shows just running).") var all = false
        @Argument(help: ArgumentHelp("The containers.", valueName: "container")) var containers: [String] = []

        func run() throws {
            let daemon = berth.daemon
            var names = containers
            if names.isEmpty {
                let list = try daemon.json("GET", "/containers/json", query: all ? [("all", "1")] : []).arrayValue ?? []
                names = list.compactMap { $0["Id"]?.stringValue }
            }
            while true {
                var w = TableWriter()
                w.write("CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS\n")
                for name in names {
                    let s = try daemon.json(
                        "GET", "/containers/\(Daemon.escape(name))/stats", query: [("stream", "false")])
                    w.write(Self.row(s) + "\n")
                }
                if !noStream { Output.out("\u{1B}[2J\u{1B}[H") }
                Output.out(w.render())
                if noStream { return }
                sleep(1)
            }
        }

        /// One line as `docker stats` prints it.
        static func row(_ s: JSONValue) -> String {
            let id = String((s["id"]?.stringValue ?? "").prefix(12))
            let name = String((s["name"]?.stringValue ?? "").drop { $0 == "/" })
            let cpu = s["cpu_stats"]
            let pre = s["precpu_stats"]
            let cpuDelta = Double(
                (cpu?["cpu_usage"]?["total_usage"]?.intValue ?? 0) - (pre?["cpu_usage"]?["total_usage"]?.intValue ?? 0))
            let systemDelta = Double(
                (cpu?["system_cpu_usage"]?.intValue ?? 0) - (pre?["system_cpu_usage"]?.intValue ?? 0))
            let online = Double(cpu?["online_cpus"]?.intValue ?? 1)
            let percent = systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * online * 100 : 0
            let mem = s["memory_stats"]
            let cache =
                mem?["stats"]?["total_inactive_file"]?.intValue ?? mem?["stats"]?["inactive_file"]?.intValue ?? 0
            let used = Double(max(0, (mem?["usage"]?.intValue ?? 0) - cache))
            let limit = Double(mem?["limit"]?.intValue ?? 0)
            var rx = 0
            var tx = 0
            for (_, n) in s["networks"]?.objectMembers ?? [] {
                rx += n["rx_bytes"]?.intValue ?? 0
                tx += n["tx_bytes"]?.intValue ?? 0
            }
            let memText = "\(HumanUnits.bytesSize(used)) / \(HumanUnits.bytesSize(limit))"
            let memPercent = limit > 0 ? used / limit * 100 : 0
            return "\(id)\t\(name)\t\(String(format2: percent))%\t\(memText)\t\(String(format2: memPercent))%\t"
                + "\(HumanUnits.size(Double(rx))) / \(HumanUnits.size(Double(tx)))\t\(s["pids_stats"]?["current"]?.intValue ?? 0)"
        }
    }

    /// `berth container prune`, reached as `berth container prune` (Docker's management command).
    struct ContainerGroup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "container", abstract: "Manage containers.", usage: "berth container COMMAND",
            subcommands: [ContainerPrune.self])
    }

    struct ContainerPrune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove all stopped containers.", usage: "berth container prune [OPTIONS]")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false
        @Option(help: ArgumentHelp("Provide filter values (e.g. \"until=<timestamp>\").", valueName: "filter"))
        var filter: [String] = []

        func run() throws {
            if !force {
                throw CLIError("WARNING! This will remove all stopped containers.\nUse -f to proceed without a prompt")
            }
            let r = try berth.daemon.json("POST", "/containers/prune", query: try Filters.query(filter))
            Prune.report(
                title: "Deleted Containers:", items: r["ContainersDeleted"]?.stringArray ?? [],
                space: r["SpaceReclaimed"])
        }
    }

    /// `berth image prune`.
    struct ImageGroup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image", abstract: "Manage images.", usage: "berth image COMMAND",
            subcommands: [ImagePrune.self])
    }

    struct ImagePrune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove unused images.", usage: "berth image prune [OPTIONS]")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Remove all unused images, not just dangling ones.") var all = false
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false
        @Option(help: ArgumentHelp("Provide filter values (e.g. \"until=<timestamp>\").", valueName: "filter"))
        var filter: [String] = []

        func run() throws {
            if !force {
                throw CLIError("WARNING! This will remove all dangling images.\nUse -f to proceed without a prompt")
            }
            let filters = filter + (all ? ["dangling=false"] : [])
            let r = try berth.daemon.json("POST", "/images/prune", query: try Filters.query(filters))
            Prune.report(title: "Deleted Images:", items: Prune.images(r), space: r["SpaceReclaimed"])
        }
    }

    /// `berth system df` and `berth system prune`.
    struct SystemDf: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "df", abstract: "Show docker disk usage.", usage: "berth system df")
        @ParentCommand var berth: Berth

        func run() throws {
            let r = try berth.daemon.json("GET", "/system/df")
            let images = r["Images"]?.arrayValue ?? []
            let containers = r["Containers"]?.arrayValue ?? []
            let volumes = r["Volumes"]?.arrayValue ?? []
            let activeImages = images.filter { ($0["Containers"]?.intValue ?? 0) > 0 }
            let imageSize = images.reduce(0) { $0 + ($1["Size"]?.intValue ?? 0) }
            let reclaimImages = imageSize - activeImages.reduce(0) { $0 + ($1["Size"]?.intValue ?? 0) }
            let containerSize = containers.reduce(0) { $0 + ($1["SizeRw"]?.intValue ?? 0) }
            let running = containers.filter { $0["State"]?.stringValue == "running" }
            let reclaimContainers = containerSize - running.reduce(0) { $0 + ($1["SizeRw"]?.intValue ?? 0) }
            let volumeSize = volumes.reduce(0) { $0 + ($1["UsageData"]?["Size"]?.intValue ?? 0) }
            let activeVolumes = volumes.filter { ($0["UsageData"]?["RefCount"]?.intValue ?? 0) > 0 }
            let reclaimVolumes = volumeSize - activeVolumes.reduce(0) { $0 + ($1["UsageData"]?["Size"]?.intValue ?? 0) }
            func size(_ n: Int) -> String { HumanUnits.size(Double(n)) }
            func share(_ part: Int, _ whole: Int) -> String {
                "\(size(part)) (\(whole > 0 ? part * 100 / whole : 0)%)"
            }
            var w = TableWriter()
            w.write("TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE\n")
            w.write(
                "Images\t\(images.count)\t\(activeImages.count)\t\(size(imageSize))\t\(share(reclaimImages, imageSize))\n"
            )
            w.write(
                "Containers\t\(containers.count)\t\(running.count)\t\(size(containerSize))\t\(share(reclaimContainers, containerSize))\n"
            )
            w.write(
                "Local Volumes\t\(volumes.count)\t\(activeVolumes.count)\t\(size(volumeSize))\t\(share(reclaimVolumes, volumeSize))\n"
            )
            w.write("Build Cache\t0\t0\t0B\t0B\n")
            Output.out(w.render())
        }
    }

    struct SystemPrune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove unused data.", usage: "berth system prune [OPTIONS]")
        @ParentCommand var berth: Berth
        @Flag(name: .shortAndLong, help: "Remove all unused images not just dangling ones.") var all = false
        @Flag(name: .shortAndLong, help: "Do not prompt for confirmation.") var force = false
        @Flag(help: "Prune anonymous volumes.") var volumes = false

        func run() throws {
            if !force {
                throw CLIError(
                    "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\nUse -f to proceed without a prompt"
                )
            }
            let daemon = berth.daemon
            var total = 0
            let c = try daemon.json("POST", "/containers/prune")
            Prune.report(title: "Deleted Containers:", items: c["ContainersDeleted"]?.stringArray ?? [], space: nil)
            total += c["SpaceReclaimed"]?.intValue ?? 0
            let n = try daemon.json("POST", "/networks/prune")
            Prune.report(title: "Deleted Networks:", items: n["NetworksDeleted"]?.stringArray ?? [], space: nil)
            if volumes {
                let v = try daemon.json("POST", "/volumes/prune")
                Prune.report(title: "Deleted Volumes:", items: v["VolumesDeleted"]?.stringArray ?? [], space: nil)
                total += v["SpaceReclaimed"]?.intValue ?? 0
            }
            let i = try daemon.json("POST", "/images/prune", query: all ? try Filters.query(["dangling=false"]) : [])
            Prune.report(title: "Deleted Images:", items: Prune.images(i), space: nil)
            total += i["SpaceReclaimed"]?.intValue ?? 0
            Output.line("Total reclaimed space: \(HumanUnits.size(Double(total)))")
        }
    }
}

/// The listing prune commands print.
enum Prune {
    /// `untagged: NAME` and `deleted: ID` lines of an image prune's answer.
    static func images(_ r: JSONValue) -> [String] {
        (r["ImagesDeleted"]?.arrayValue ?? []).compactMap { e in
            if let u = e["Untagged"]?.stringValue { return "untagged: \(u)" }
            return e["Deleted"]?.stringValue.map { "deleted: \($0)" }
        }
    }

    static func report(title: String, items: [String], space: JSONValue?) {
        if !items.isEmpty {
            Output.line(title)
            for i in items { Output.line(i) }
            Output.line("")
        }
        if let space { Output.line("Total reclaimed space: \(HumanUnits.size(Double(space.intValue ?? 0)))") }
    }
}

extension String {
    /// `%.2f`.
    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let frac = abs(scaled % 100)
        self = "\(scaled / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
