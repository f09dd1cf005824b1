import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth inspect`: low-level JSON for containers and images (a container first, then an image, as the
    /// docker CLI tries them), pretty-printed or through `--format`.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Return low-level information on Berth objects.",
            usage: "berth inspect [OPTIONS] NAME|ID [NAME|ID...]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Format output using a custom template ('json' or a Go template).", valueName: "string"))
        var format: String?

        @Flag(name: .shortAndLong, help: "Display total file sizes if the type is container.")
        var size = false

        @Option(
            name: .long,
            help: ArgumentHelp("Only inspect objects of the given type (container or image).", valueName: "string"))
        var type: String?

        @Argument(help: ArgumentHelp("The objects to inspect.", valueName: "name|id"))
        var names: [String] = []

        func validate() throws {
            if names.isEmpty { throw ValidationError("'berth inspect' requires at least 1 argument") }
            if let type, !["container", "image"].contains(type) {
                throw ValidationError("\"\(type)\" is not a valid value for --type")
            }
        }

        func run() throws {
            let daemon = berth.daemon
            let template: GoTemplate?
            if let format, !format.isEmpty, format != "json" {
                do { template = try GoTemplate(format) } catch {
                    throw CLIError("template parsing error: \(error.message)")
                }
            } else {
                template = nil
            }
            var found: [[UInt8]] = []
            var errors: [String] = []
            var output = ""
            for name in names {
                guard let raw = try lookup(daemon, name) else {
                    errors.append("Error: No such object: \(name)")
                    continue
                }
                if let template {
                    guard let value = try? JSONValue.parse(bytes: raw) else { continue }
                    do { output += try template.execute(value) + "\n" } catch {
                        errors.append("template parsing error: \(error.message)")
                    }
                } else {
                    found.append(raw)
                }
            }
            if template == nil {
                var array: [UInt8] = [UInt8(ascii: "[")]
                for (i, raw) in found.enumerated() {
                    if i > 0 { array.append(UInt8(ascii: ",")) }
                    array += JSONText.compact(raw)
                }
                array.append(UInt8(ascii: "]"))
                output = JSONText.indent(array) + "\n"
            }
            Output.out(output)
            if !errors.isEmpty {
                for e in errors { Output.error(e) }
                throw ExitCode(1)
            }
        }

        /// The raw JSON for `name`, trying a container, then an image; nil if neither exists.
        private func lookup(_ daemon: Daemon, _ name: String) throws(CLIError) -> [UInt8]? {
            let escaped = Daemon.escape(name)
            var candidates: [(String, [(String, String)])] = []
            if type == nil || type == "container" {
                candidates.append(("/containers/\(escaped)/json", size ? [("size", "1")] : []))
            }
            if type == nil || type == "image" { candidates.append(("/images/\(escaped)/json", [])) }
            for (path, query) in candidates {
                let r = try daemon.call("GET", path, query: query)
                if r.status == 404 { continue }
                do { try APIClient.check(r.status, r.body) } catch { throw CLIError(error) }
                return r.body
            }
            return nil
        }
    }
}
