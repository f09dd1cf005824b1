import ArgumentParser
import BerthCore

extension Berth {
    /// `berth images`: list images, one row per repository tag.
    struct Images: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "images",
            abstract: "List images.",
            usage: "berth images [OPTIONS] [REPOSITORY[:TAG]]"
        )

        static let defaultFormat = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
        static let digestFormat =
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

        static let header: JSONValue = .object([
            ("Repository", .string("REPOSITORY")), ("Tag", .string("TAG")), ("ID", .string("IMAGE ID")),
            ("Digest", .string("DIGEST")), ("CreatedSince", .string("CREATED")), ("CreatedAt", .string("CREATED AT")),
            ("Size", .string("SIZE")), ("Containers", .string("CONTAINERS")), ("SharedSize", .string("SHARED SIZE")),
            ("UniqueSize", .string("UNIQUE SIZE")), ("VirtualSize", .string("VIRTUAL SIZE")),
        ])

        @ParentCommand var berth: Berth

        @Flag(name: .shortAndLong, help: "Show all images (default hides intermediate images).")
        var all = false

        @Flag(name: .long, help: "Show digests.")
        var digests = false

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Filter output based on conditions provided.", valueName: "filter"))
        var filter: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Format output using a custom template ('table', 'table TEMPLATE', 'json' or a Go template).",
                valueName: "string"))
        var format: String?

        @Flag(name: .customLong("no-trunc"), help: "Don't truncate output.")
        var noTrunc = false

        @Flag(name: .shortAndLong, help: "Only show image IDs.")
        var quiet = false

        @Argument(help: ArgumentHelp("Only images matching this reference.", valueName: "repository[:tag]"))
        var reference: String?

        func run() throws {
            var flags = filter
            if let reference { flags.append("reference=\(reference)") }
            var query: [(String, String)] = []
            if all { query.append(("all", "1")) }
            query += try Filters.query(flags)
            let list = try berth.daemon.json("GET", "/images/json", query: query)
            let now = TimeFormat.nowNanos() / 1_000_000_000
            let rows = (list.arrayValue ?? []).flatMap { Self.rows($0, truncate: !noTrunc, now: now) }
            var text = quiet ? "{{.ID}}" : (format ?? "")
            if text.isEmpty || text == "table" { text = digests ? Self.digestFormat : Self.defaultFormat }
            let listFormat = try ListFormat(text, defaultTable: Self.defaultFormat)
            Output.out(try listFormat.render(rows: rows, header: Self.header))
        }

        /// The display rows of one `GET /images/json` entry: one per tag, `<none>` when untagged
        /// (docker/cli `imageFormat`).
        static func rows(_ image: JSONValue, truncate: Bool, now: Int64) -> [JSONValue] {
            var pairs: [(String, String, String)] = []
            var digestsByRepo: [(String, [String])] = []
            for ref in image["RepoDigests"]?.stringArray ?? [] {
                guard let at = ref.firstIndex(of: "@") else { continue }
                let repo = String(ref[..<at])
                let digest = String(ref[ref.index(after: at)...])
                if let i = digestsByRepo.firstIndex(where: { $0.0 == repo }) {
                    digestsByRepo[i].1.append(digest)
                } else {
                    digestsByRepo.append((repo, [digest]))
                }
            }
            var taggedRepos: Set<String> = []
            for ref in image["RepoTags"]?.stringArray ?? [] where ref != "<none>:<none>" {
                let name = ImageName(ref)
                guard let tag = name.tag else { continue }
                taggedRepos.insert(name.repository)
                let digest = digestsByRepo.first { $0.0 == name.repository }?.1.first ?? "<none>"
                pairs.append((name.repository, tag, digest))
            }
            for (repo, digests) in digestsByRepo where !taggedRepos.contains(repo) {
                for digest in digests { pairs.append((repo, "<none>", digest)) }
            }
            if pairs.isEmpty { pairs.append(("<none>", "<none>", "<none>")) }

            let id = image["Id"]?.stringValue ?? ""
            let created = image["Created"]?.int64Value ?? 0
            let size = Double(image["Size"]?.int64Value ?? 0)
            let virtual = Double(image["VirtualSize"]?.int64Value ?? image["Size"]?.int64Value ?? 0)
            func count(_ key: String) -> String {
                guard let n = image[key]?.int64Value, n >= 0 else { return "N/A" }
                return key == "Containers" ? String(n) : HumanUnits.size(Double(n))
            }
            let unique: String
            if let shared = image["SharedSize"]?.int64Value, shared >= 0 {
                unique = HumanUnits.size(size - Double(shared))
            } else {
                unique = "N/A"
            }
            return pairs.map { repo, tag, digest in
                .object([
                    ("Containers", .string(count("Containers"))),
                    ("CreatedAt", .string(TimeFormat.goTimeString(created))),
                    ("CreatedSince", .string(HumanUnits.duration(seconds: Double(now - created)) + " ago")),
                    ("Digest", .string(digest)),
                    ("ID", .string(truncate ? TextFormat.shortID(id) : id)),
                    ("Repository", .string(repo)),
                    ("SharedSize", .string(count("SharedSize"))),
                    ("Size", .string(HumanUnits.size(size))),
                    ("Tag", .string(tag)),
                    ("UniqueSize", .string(unique)),
                    ("VirtualSize", .string(HumanUnits.size(virtual, precision: 4))),
                ])
            }
        }
    }
}
