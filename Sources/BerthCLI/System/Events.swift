import ArgumentParser
import BerthCore

extension Berth {
    /// `berth events`: the daemon's event stream, replayed with `--since` and followed until `--until`.
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Get real time events from the server.",
            usage: "berth events [OPTIONS]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Filter output based on conditions provided.", valueName: "filter"))
        var filter: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp("Format output using a custom template ('json' or a Go template).", valueName: "string"))
        var format: String?

        @Option(name: .long, help: ArgumentHelp("Show all events created since timestamp.", valueName: "string"))
        var since: String?

        @Option(name: .long, help: ArgumentHelp("Stream events until this timestamp.", valueName: "string"))
        var until: String?

        func run() throws {
            let now = TimeFormat.nowNanos()
            var query = try Filters.query(filter)
            if let since { query.append(("since", TimeFormat.timestamp(since, nowNanos: now))) }
            if let until { query.append(("until", TimeFormat.timestamp(until, nowNanos: now))) }
            var template: GoTemplate? = nil
            if let format, !format.isEmpty, format != "json" {
                do { template = try GoTemplate(format) } catch {
                    throw CLIError("template parsing error: \(error.message)")
                }
            }
            var lines = JSONLines()
            var failure: CLIError? = nil
            func show(_ event: JSONValue, _ text: [UInt8]) -> Bool {
                if format == "json" { return Output.write(1, text + [10]) }
                guard let template else {
                    let nanos = JSONLines.integer("timeNano", in: text)
                    return Output.write(1, Array((Self.line(event, timeNano: nanos) + "\n").utf8))
                }
                do { return Output.write(1, Array((try template.execute(event) + "\n").utf8)) } catch {
                    failure = CLIError("template parsing error: \(error.message)")
                    return false
                }
            }
            try berth.daemon.stream("GET", "/events", query: query) { chunk in
                lines.feedLines(chunk).allSatisfy { show($0.value, $0.text) }
            }
            if let failure { throw failure }
        }

        /// `2026-11-29T14:03:07.123456789Z container start ID (image=busybox, name=x)`, as the docker CLI prints it.
        static func line(_ e: JSONValue, timeNano: Int64? = nil) -> String {
            var text = ""
            if let nanos = timeNano ?? e["timeNano"]?.int64Value, nanos != 0 {
                text = TimeFormat.rfc3339NanoFixed(nanos) + " "
            } else if let secs = e["time"]?.int64Value, secs != 0 {
                text = TimeFormat.rfc3339NanoFixed(secs * 1_000_000_000) + " "
            }
            let type = e["Type"]?.stringValue ?? ""
            let action = e["Action"]?.stringValue ?? ""
            let id = e["Actor"]?["ID"]?.stringValue ?? ""
            text += "\(type) \(action) \(id)"
            let attributes = (e["Actor"]?["Attributes"]?.stringMap ?? [:]).sorted { $0.key < $1.key }
            if !attributes.isEmpty {
                text += " (" + attributes.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
            }
            return text
        }
    }
}
