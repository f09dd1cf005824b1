import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth search REGISTRY/TERM`: repositories of a registry's catalog whose names contain TERM.
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search",
            abstract: "Search a registry for images.",
            usage: "berth search [OPTIONS] REGISTRY/TERM"
        )

        @ParentCommand var berth: Berth

        @Option(name: .long, help: ArgumentHelp("Max number of search results", valueName: "int"))
        var limit: Int = 25

        @Flag(name: .customLong("no-trunc"), help: "Don't truncate output")
        var noTrunc = false

        @Argument(help: ArgumentHelp("A registry and the text to look for.", valueName: "registry/term"))
        var term: String

        func run() throws {
            guard limit >= 1, limit <= 100 else { throw CLIError("limit 0 is outside the range of [1, 100]") }
            let r = try berth.daemon.checked(
                "GET", "/images/search", query: [("term", term), ("limit", String(limit))],
                headers: [("X-Registry-Auth", CredentialStore.header(for: CredentialStore.host(ofImage: term)))])
            let rows = (try? JSONValue.parse(bytes: r.body))?.arrayValue ?? []
            let names = rows.map { $0["name"]?.stringValue ?? "" }
            let width = max(4, names.map(\.count).max() ?? 0) + 3
            func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(1, n - s.count)) }
            Output.line(pad("NAME", width) + pad("DESCRIPTION", 14) + pad("STARS", 10) + "OFFICIAL")
            for (row, name) in zip(rows, names) {
                var description = row["description"]?.stringValue ?? ""
                if !noTrunc, description.count > 45 { description = String(description.prefix(44)) + "…" }
                let stars = String(row["star_count"]?.intValue ?? 0)
                let official = row["is_official"]?.boolValue == true ? "[OK]" : ""
                Output.line(pad(name, width) + pad(description, 14) + pad(stars, 10) + official)
            }
        }
    }
}
