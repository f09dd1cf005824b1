import BerthCore

/// A `--format` value for list commands (`ps`, `images`): `table [TEMPLATE]`, `json`, or a bare template.
///
/// Docker runs the same template over each row and, for `table`, over a header row whose fields hold the
/// column titles; tables go through the tab writer, other formats are printed as they come. `\t` and `\n`
/// written literally in the flag become tabs and newlines.
struct ListFormat {
    enum Kind {
        case table(GoTemplate)
        case raw(GoTemplate)
        case json
    }

    let kind: Kind

    init(_ format: String?, defaultTable: String) throws(CLIError) {
        let text = (format ?? "").isEmpty ? defaultTable : format ?? ""
        if text == "json" {
            kind = .json
            return
        }
        let isTable = text.hasPrefix("table")
        var body = isTable ? String(text.dropFirst(5)) : text
        body = body.trimmingSpaces
        body = body.replacing("\\t", with: "\t").replacing("\\n", with: "\n")
        if isTable, body.isEmpty { body = Self.stripTable(defaultTable) }
        let template: GoTemplate
        do { template = try GoTemplate(body) } catch { throw CLIError("template parsing error: \(error.message)") }
        kind = isTable ? .table(template) : .raw(template)
    }

    private static func stripTable(_ s: String) -> String {
        (s.hasPrefix("table") ? String(s.dropFirst(5)) : s).trimmingSpaces
            .replacing("\\t", with: "\t").replacing("\\n", with: "\n")
    }

    /// The output for `rows` (each a JSON object of display strings), with `header` naming the columns.
    func render(rows: [JSONValue], header: JSONValue) throws(CLIError) -> String {
        switch kind {
        case .json:
            // json.Marshal's HTML escaping: these characters only occur inside strings, so replacing is safe.
            return rows.map {
                JSONValue.object($0.objectMembers.sorted { $0.0 < $1.0 }).serialized
                    .replacing("<", with: "\\u003c").replacing(">", with: "\\u003e").replacing("&", with: "\\u0026")
                    + "\n"
            }.joined()
        case .raw(let template):
            var out = ""
            for row in rows { out += try Self.run(template, row) + "\n" }
            return out
        case .table(let template):
            var writer = TableWriter()
            writer.write(try Self.run(template, header) + "\n")
            for row in rows { writer.write(try Self.run(template, row) + "\n") }
            return writer.render()
        }
    }

    static func run(_ template: GoTemplate, _ data: JSONValue) throws(CLIError) -> String {
        do { return try template.execute(data) } catch { throw CLIError("template parsing error: \(error.message)") }
    }
}
