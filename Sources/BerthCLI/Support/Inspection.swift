import BerthCore

/// How `inspect` commands print what they found: indented JSON, or `--format` applied to each object.
enum Inspection {
    /// `GET path(ref)` for each reference, then the objects found rendered; the last failure is thrown after
    /// (as the docker CLI prints what it found before the error).
    static func run(_ daemon: Daemon, _ refs: [String], format: String?, path: (String) -> String) throws(CLIError) {
        var found: [JSONValue] = []
        var failed: CLIError?
        for ref in refs {
            do { found.append(try daemon.json("GET", path(Daemon.escape(ref)))) } catch { failed = error }
        }
        try render(found, format: format)
        if let failed { throw failed }
    }

    static func render(_ found: [JSONValue], format: String?) throws(CLIError) {
        guard let format, !format.isEmpty else {
            Output.out(JSONText.indent(Array(JSONValue.array(found).serialized.utf8)) + "\n")
            return
        }
        let template: GoTemplate
        do { template = try GoTemplate(format) } catch { throw CLIError("template parsing error: \(error.message)") }
        for item in found {
            do { Output.line(try template.execute(item)) } catch {
                throw CLIError("template parsing error: \(error.message)")
            }
        }
    }
}
