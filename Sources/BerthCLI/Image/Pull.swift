import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth pull`: an image from a registry, with a progress line per layer.
    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull",
            abstract: "Download an image from a registry.",
            usage: "berth pull [OPTIONS] NAME[:TAG|@DIGEST]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .long, help: ArgumentHelp("Set platform if server is multi-platform capable.", valueName: "string"))
        var platform: String?

        @Flag(name: .shortAndLong, help: "Suppress verbose output.")
        var quiet = false

        @Argument(help: ArgumentHelp("The image.", valueName: "name[:tag|@digest]"))
        var image: String

        func run() throws {
            try Self.pull(image, platform: platform, quiet: quiet, daemon: berth.daemon)
        }

        /// Pulls `image` through the daemon, showing Docker's progress (bars on a terminal, lines otherwise);
        /// with `quiet` only the name at the end. Also used by `run` and `create` for a missing image.
        static func pull(_ image: String, platform: String?, quiet: Bool, daemon: Daemon) throws {
            guard !image.isEmpty, !image.contains(" ") else { throw CLIError("invalid reference format: \(image)") }
            let ref = ImageName(image)
            var query: [(String, String)] = [("fromImage", ref.repository), ("tag", ref.digest ?? ref.tag ?? "latest")]
            if let platform, !platform.isEmpty { query.append(("platform", platform)) }
            var progress = PullProgress(terminal: !quiet && Output.isTerminal(1))
            try daemon.progress(
                "POST", "/images/create", query: query, image: image, action: "pulling",
                isEnd: { $0["status"]?.stringValue?.hasPrefix("Status: ") == true }
            ) { if !quiet { progress.show($0) } }
            Output.line(ImageName.tagged(image))
        }
    }
}

/// Renders pull/push progress: on a terminal one line per layer, rewritten in place (with a bar while
/// downloading); otherwise one line per status change, without the byte counts.
struct PullProgress {
    let terminal: Bool
    /// Layer IDs in the order they appeared (the terminal lines, top to bottom).
    private var order: [String] = []
    private var lastStatus: [String: String] = [:]

    init(terminal: Bool) { self.terminal = terminal }

    mutating func show(_ m: JSONValue) {
        let status = m["status"]?.stringValue ?? ""
        guard let id = m["id"]?.stringValue, !id.isEmpty else {
            if !status.isEmpty { Output.line(status) }
            return
        }
        var text = "\(id): \(status)"
        if let current = m["progressDetail"]?["current"]?.int64Value {
            let total = m["progressDetail"]?["total"]?.int64Value ?? 0
            text += " " + Self.bar(current: current, total: total)
        }
        if !terminal {
            // Byte counts would flood a log: a line per status change only.
            if lastStatus[id] != status { Output.line("\(id): \(status)") }
            lastStatus[id] = status
            return
        }
        if let row = order.firstIndex(of: id) {
            let up = order.count - row
            // Up to the layer's line, clear it, write, and back down.
            Output.out("\u{1B}[\(up)A\u{1B}[2K\r\(text)\r\u{1B}[\(up)B")
        } else {
            order.append(id)
            Output.line(text)
        }
    }

    /// `[=====>      ]  1.2MB/3.4MB`, as Docker draws it.
    static func bar(current: Int64, total: Int64) -> String {
        guard total > 0 else { return HumanUnits.size(Double(current)) }
        let width = 50
        let done = Int(min(Int64(width), current * Int64(width) / total))
        let arrow = done < width ? ">" : ""
        let fill = String(repeating: "=", count: max(0, done - (arrow.isEmpty ? 0 : 1))) + arrow
        return "[" + fill + String(repeating: " ", count: width - fill.count) + "]  "
            + "\(HumanUnits.size(Double(current)))/\(HumanUnits.size(Double(total)))"
    }
}
