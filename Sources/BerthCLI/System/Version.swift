import ArgumentParser
import BerthAPIClient
import BerthCore

extension Berth {
    /// `berth version`: the client's and the daemon's versions, laid out like `docker version`.
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version",
            abstract: "Show the Berth version information.",
            usage: "berth version [OPTIONS]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Format output using a custom template ('json' or a Go template).", valueName: "string"))
        var format: String?

        static var swiftVersion: String {
            #if compiler(>=6.3)
                return "6.3"
            #elseif compiler(>=6.2)
                return "6.2"
            #elseif compiler(>=6.1)
                return "6.1"
            #else
                return "6.0"
            #endif
        }

        static var arch: String {
            #if arch(x86_64)
                return "amd64"
            #elseif arch(arm64)
                return "arm64"
            #else
                return "unknown"
            #endif
        }

        static var client: JSONValue {
            .object([
                ("Platform", .object([("Name", .string("Berth"))])),
                ("Version", .string(Berth.version)),
                ("ApiVersion", .string(APIVersion.maximum.description)),
                ("DefaultAPIVersion", .string(APIVersion.maximum.description)),
                ("GitCommit", .string("")),
                ("GoVersion", .string("swift" + swiftVersion)),
                ("Os", .string("linux")),
                ("Arch", .string(arch)),
                ("BuildTime", .string("")),
                ("Context", .string("default")),
            ])
        }

        func run() throws {
            var server: JSONValue? = nil
            var serverError: CLIError? = nil
            do { server = try berth.daemon.json("GET", "/version") } catch { serverError = error }
            if let format, !format.isEmpty {
                let data: JSONValue = .object([("Client", Self.client), ("Server", server ?? .null)])
                if format == "json" {
                    Output.line(data.serialized)
                } else {
                    let template: GoTemplate
                    do { template = try GoTemplate(format) } catch {
                        throw CLIError("template parsing error: \(error.message)")
                    }
                    do { Output.line(try template.execute(data)) } catch {
                        throw CLIError("template parsing error: \(error.message)")
                    }
                }
            } else {
                Output.out(Self.render(client: Self.client, server: server))
            }
            if let serverError { throw serverError }
        }

        /// The text `docker version` prints (its template, through the tab writer with width 20, padding 1).
        static func render(client c: JSONValue, server: JSONValue?) -> String {
            func s(_ v: JSONValue?) -> String { v.map(GoTemplate.display) ?? "" }
            var text = "Client:\n"
            text += " Version:\t\(s(c["Version"]))\n"
            text += " API version:\t\(s(c["ApiVersion"]))\n"
            text += " Swift version:\t\(s(c["GoVersion"]))\n"
            text += " OS/Arch:\t\(s(c["Os"]))/\(s(c["Arch"]))\n"
            if let server {
                let platform = s(server["Platform"]?["Name"])
                text += "\nServer:\(platform.isEmpty ? "" : " " + platform)\n"
                let components = server["Components"]?.arrayValue ?? []
                for component in components {
                    let name = s(component["Name"])
                    let d = component["Details"] ?? .object([])
                    text += " \(name):\n"
                    if name == "Engine" {
                        text += "  Version:\t\(s(component["Version"]))\n"
                        text += "  API version:\t\(s(d["ApiVersion"])) (minimum version \(s(d["MinAPIVersion"])))\n"
                        text += "  Swift version:\t\(s(d["GoVersion"]))\n"
                        text += "  Git commit:\t\(s(d["GitCommit"]))\n"
                        text += "  Built:\t\(s(d["BuildTime"]))\n"
                        text += "  OS/Arch:\t\(s(d["Os"]))/\(s(d["Arch"]))\n"
                        text += "  Experimental:\t\(s(d["Experimental"]))\n"
                    } else {
                        text += "  Version:\t\(s(component["Version"]))\n"
                        for (key, value) in d.objectMembers { text += "  \(key):\t\(s(value))\n" }
                    }
                }
            }
            var writer = TableWriter(minWidth: 20, padding: 1)
            writer.write(text)
            return writer.render()
        }
    }
}
