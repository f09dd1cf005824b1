import BerthCore

/// How `inspect` commands print what they found: indented JSON, or `--format` applied to each object.
enum Inspection {
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
