import ArgumentParser
import BerthAPIClient
import BerthCore
import BerthDockerIgnore
import BerthOS
import Glibc

extension Berth {
    /// `berth build PATH | -`: sends the context as a tar to `POST /build` (Docker's classic builder protocol)
    /// and prints the daemon's `Step N/M` stream.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Build an image from a Dockerfile.",
            usage: "berth build [OPTIONS] PATH | -"
        )

        @ParentCommand var berth: Berth

        @Option(
            name: [.customShort("t"), .long],
            help: ArgumentHelp("Name and optionally a tag (format: \"name:tag\")", valueName: "list"))
        var tag: [String] = []
        @Option(
            name: [.customShort("f"), .long],
            help: ArgumentHelp("Name of the Dockerfile (default: \"PATH/Dockerfile\")", valueName: "string"))
        var file: String?
        @Option(name: .customLong("build-arg"), help: ArgumentHelp("Set build-time variables", valueName: "list"))
        var buildArg: [String] = []
        @Option(name: .long, help: ArgumentHelp("Set metadata for an image", valueName: "list"))
        var label: [String] = []
        @Option(name: .long, help: ArgumentHelp("Set the target build stage to build.", valueName: "string"))
        var target: String?
        @Flag(name: .customLong("no-cache"), help: "Do not use cache when building the image")
        var noCache = false
        @Option(
            name: .customLong("cache-from"),
            help: ArgumentHelp("Images to consider as cache sources", valueName: "strings"))
        var cacheFrom: [String] = []
        @Flag(name: .long, help: "Always attempt to pull a newer version of the image")
        var pull = false
        @Option(
            name: .long,
            help: ArgumentHelp("Set the networking mode for the RUN instructions during build", valueName: "string"))
        var network: String?
        @Option(
            name: .long, help: ArgumentHelp("Set platform if server is multi-platform capable", valueName: "string"))
        var platform: String?
        @Flag(name: [.customShort("q"), .long], help: "Suppress the build output and print image ID on success")
        var quiet = false
        @Option(name: .customLong("iidfile"), help: ArgumentHelp("Write the image ID to the file", valueName: "string"))
        var iidfile: String?
        @Flag(
            name: .customLong("rm"), inversion: .prefixedNo,
            help: "Remove intermediate containers after a successful build")
        var rm = true
        @Flag(name: .customLong("force-rm"), help: "Always remove intermediate containers")
        var forceRm = false

        @Argument(
            help: ArgumentHelp(
                "The build context: a directory, or - for a tar or a Dockerfile on STDIN.", valueName: "PATH | -"))
        var context: String

        func run() throws {
            let scratch = "/tmp/berth-build-\(getpid()).tar"
            let fd = open(scratch, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CLIError("create \(scratch): \(String(cString: strerror(errno)))") }
            unlink(scratch)
            defer { close(fd) }
            let dockerfile = try writeContext(to: fd)
            lseek(fd, 0, SEEK_SET)
            var query: [(String, String)] = [("dockerfile", dockerfile), ("version", "1")]
            for t in tag { query.append(("t", t)) }
            if !buildArg.isEmpty {
                var args: [(String, JSONValue)] = []
                for arg in buildArg {
                    let kv = arg.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    // `--build-arg NAME` takes the value from the environment, as the docker CLI does.
                    let value = kv.count > 1 ? kv[1] : FileInput.environment(kv[0])
                    args.append((kv[0], value.map { .string($0) } ?? .null))
                }
                query.append(("buildargs", JSONValue.object(args).serialized))
            }
            if !label.isEmpty {
                let pairs = label.map { l -> (String, JSONValue) in
                    let kv = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    return (kv[0], .string(kv.count > 1 ? kv[1] : ""))
                }
                query.append(("labels", JSONValue.object(pairs).serialized))
            }
            if let target { query.append(("target", target)) }
            if noCache { query.append(("nocache", "1")) }
            if !cacheFrom.isEmpty { query.append(("cachefrom", JSONValue.strings(cacheFrom).serialized)) }
            if pull { query.append(("pull", "1")) }
            if let network { query.append(("networkmode", network)) }
            if let platform { query.append(("platform", platform)) }
            if quiet { query.append(("q", "1")) }
            if forceRm { query.append(("forcerm", "1")) }
            var lines = JSONLines()
            var failure: String? = nil
            var imageID: String? = nil
            func show(_ m: JSONValue) -> Bool {
                if let error = m["errorDetail"]?["message"]?.stringValue ?? m["error"]?.stringValue {
                    failure = error
                    return false
                }
                if let id = m["aux"]?["ID"]?.stringValue { imageID = id }
                if !quiet, let text = m["stream"]?.stringValue { Output.out(text) }
                return true
            }
            do {
                try berth.daemon.client.upload(
                    "POST", "/build", query: query,
                    headers: [
                        ("Content-Type", "application/x-tar"), ("X-Registry-Config", CredentialStore.registryConfig()),
                    ],
                    from: fd
                ) { chunk in lines.feed(chunk).allSatisfy(show) }
            } catch {
                throw CLIError(error)
            }
            _ = lines.finish().allSatisfy(show)
            if let failure { throw CLIError(failure) }
            guard let imageID else { throw CLIError("the build ended without an image (the daemon went away?)") }
            if quiet { Output.line(imageID) }
            if let iidfile {
                do { try FileSystem.writeFile(iidfile, imageID) } catch { throw CLIError(error.message) }
            }
        }

        /// Writes the context tar to `fd`; returns the Dockerfile's name inside it.
        func writeContext(to fd: Int32) throws -> String {
            var tar = ContextTar(fd: fd)
            if context == "-" {
                let input = try FileInput.readAll(fd: 0)
                if Self.looksLikeArchive(input) {
                    try FileSystem.writeAll(fd: fd, input, what: "the build context")
                    return file ?? "Dockerfile"
                }
                // A Dockerfile on stdin: a context of that file alone.
                try tar.addData(input, as: "Dockerfile")
                try tar.finish()
                return "Dockerfile"
            }
            guard FileSystem.isDirectory(context) else {
                throw CLIError("unable to prepare context: path \"\(context)\" not found")
            }
            let root = FilePathText.absolute(context)
            var name = "Dockerfile"
            var extra: [UInt8]? = nil
            if let file {
                let path = file == "-" ? "" : FilePathText.absolute(file)
                if file == "-" {
                    extra = try FileInput.readAll(fd: 0)
                    name = ".dockerfile.\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
                } else if path.hasPrefix(root + "/") {
                    name = String(path.dropFirst(root.count + 1))
                } else {
                    do { extra = try FileSystem.readFile(path) } catch {
                        throw CLIError("unable to prepare context: \(error.message)")
                    }
                    name = ".dockerfile.\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
                }
            }
            guard extra != nil || FileSystem.exists(root + "/" + name) else {
                throw CLIError(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat \(root)/\(name): no such file or directory"
                )
            }
            var ignore: DockerIgnore? = nil
            if let text = try? FileSystem.readText(root + "/.dockerignore") {
                do { ignore = try DockerIgnore.parse(text) } catch {
                    throw CLIError("parse .dockerignore: \(error.message)")
                }
            }
            try tar.addDirectory(root, ignore: ignore, keep: [name, ".dockerignore"])
            if let extra { try tar.addData(extra, as: name) }
            try tar.finish()
            return name
        }

        /// A tar (ustar magic) or a compressed stream (gzip, bzip2, xz, zstd).
        static func looksLikeArchive(_ b: [UInt8]) -> Bool {
            if b.starts(with: [0x1F, 0x8B]) || b.starts(with: Array("BZh".utf8))
                || b.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) || b.starts(with: [0x28, 0xB5, 0x2F, 0xFD])
            {
                return true
            }
            return b.count >= 262 && Array(b[257..<262]) == Array("ustar".utf8)
        }
    }
}

/// Absolute paths for the CLI's arguments.
enum FilePathText {
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        let cwd = getcwd(&buf, buf.count).map { _ in String(cString: buf) } ?? "."
        var parts = cwd.split(separator: "/").map(String.init)
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast() } else { parts.append(String(part)) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
