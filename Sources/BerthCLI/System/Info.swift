import ArgumentParser
import BerthCore

extension Berth {
    /// `berth info`: a readable summary of `GET /info`, in `docker info`'s layout.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Display system-wide information.",
            usage: "berth info [OPTIONS]"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Format output using a custom template ('json' or a Go template).", valueName: "string"))
        var format: String?

        func run() throws {
            let info = try berth.daemon.json("GET", "/info")
            if let format, !format.isEmpty {
                if format == "json" {
                    Output.line(info.serialized)
                    return
                }
                let template: GoTemplate
                do { template = try GoTemplate(format) } catch {
                    throw CLIError("template parsing error: \(error.message)")
                }
                do { Output.line(try template.execute(info)) } catch {
                    throw CLIError("template parsing error: \(error.message)")
                }
                return
            }
            Output.out(Self.render(info))
            for warning in info["Warnings"]?.stringArray ?? [] {
                Output.error(warning.hasPrefix("WARNING") ? warning : "WARNING: \(warning)")
            }
        }

        static func render(_ i: JSONValue) -> String {
            func s(_ key: String) -> String { i[key].map(GoTemplate.display) ?? "" }
            var lines: [String] = ["Client:", " Version:    \(Berth.version)", " Debug Mode: false", "", "Server:"]
            lines += [
                " Containers: \(s("Containers"))", "  Running: \(s("ContainersRunning"))",
                "  Paused: \(s("ContainersPaused"))", "  Stopped: \(s("ContainersStopped"))",
                " Images: \(s("Images"))", " Server Version: \(s("ServerVersion"))", " Storage Driver: \(s("Driver"))",
            ]
            for pair in i["DriverStatus"]?.arrayValue ?? [] {
                let kv = pair.stringArray ?? []
                if kv.count == 2 { lines.append("  \(kv[0]): \(kv[1])") }
            }
            lines += [
                " Logging Driver: \(s("LoggingDriver"))", " Cgroup Driver: \(s("CgroupDriver"))",
                " Cgroup Version: \(s("CgroupVersion"))", " Plugins:",
            ]
            for kind in ["Volume", "Network", "Log"] {
                let names = i["Plugins"]?[kind]?.stringArray ?? []
                lines.append("  \(kind): \(names.joined(separator: " "))")
            }
            let runtimes = (i["Runtimes"]?.objectMembers ?? []).map(\.0).sorted()
            lines += [" Runtimes: \(runtimes.joined(separator: " "))", " Default Runtime: \(s("DefaultRuntime"))"]
            let security = i["SecurityOptions"]?.stringArray ?? []
            if !security.isEmpty {
                lines.append(" Security Options:")
                for option in security {
                    // "name=seccomp,profile=builtin" → "seccomp" and "Profile: builtin" beneath it.
                    var name = option
                    var extra: [String] = []
                    for field in option.split(separator: ",") {
                        let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
                        guard kv.count == 2 else { continue }
                        if kv[0] == "name" {
                            name = kv[1]
                        } else {
                            extra.append("\(kv[0].prefix(1).uppercased() + kv[0].dropFirst()): \(kv[1])")
                        }
                    }
                    lines.append("  \(name)")
                    lines += extra.map { "   \($0)" }
                }
            }
            let memory = HumanUnits.bytesSize(Double(i["MemTotal"]?.int64Value ?? 0))
            lines += [
                " Kernel Version: \(s("KernelVersion"))", " Operating System: \(s("OperatingSystem"))",
                " OSType: \(s("OSType"))", " Architecture: \(s("Architecture"))", " CPUs: \(s("NCPU"))",
                " Total Memory: \(memory)", " Name: \(s("Name"))", " ID: \(s("ID"))",
                " Berth Root Dir: \(s("DockerRootDir"))", " Debug Mode: \(s("Debug"))",
                " Experimental: \(s("ExperimentalBuild"))",
            ]
            let labels = i["Labels"]?.stringArray ?? []
            if !labels.isEmpty {
                lines.append(" Labels:")
                lines += labels.map { "  \($0)" }
            }
            lines.append(" Live Restore Enabled: \(s("LiveRestoreEnabled"))")
            if let b = i["Berth"] {
                let file = b["ConfigFile"]?.stringValue ?? ""
                lines += [
                    " Config File: \(file.isEmpty ? "(built-in defaults)" : file)",
                    " Default Network: \(b["DefaultNetwork"]?.stringValue ?? "")",
                    " Hooks Dir: \(b["HooksDir"]?.stringValue ?? "")",
                ]
                let hooks = b["Hooks"]?.arrayValue ?? []
                lines.append(" Hooks:\(hooks.isEmpty ? " (none)" : "")")
                for h in hooks {
                    let events = (h["Events"]?.stringArray ?? []).joined(separator: ", ")
                    lines.append("  \(h["Name"]?.stringValue ?? ""): \(events)")
                }
            }
            return lines.joined(separator: "\n") + "\n\n"
        }
    }
}
