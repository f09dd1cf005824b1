import ArgumentParser
import BerthAPIClient
import BerthCore
import BerthOS
import Glibc

extension Berth {
    /// `berth cp`: files between a container and the host, with Docker's path rules, as tars over the archive
    /// API (the host side is packed and unpacked by the host's `tar`).
    struct Cp: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp", abstract: "Copy files/folders between a container and the local filesystem.",
            usage:
                "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
        )
        @ParentCommand var berth: Berth
        @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH.")
        var followLink = false
        @Argument(help: ArgumentHelp("Source.", valueName: "src")) var source: String
        @Argument(help: ArgumentHelp("Destination.", valueName: "dest")) var destination: String

        static let tar = "/bin/tar"

        /// `CONTAINER:PATH` → (container, path); a local path (possibly with a `:` after a `/`) → nil.
        static func split(_ arg: String) -> (String, String)? {
            guard let colon = arg.firstIndex(of: ":"), !arg[..<colon].contains("/"), arg.first != "." else {
                return nil
            }
            return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
        }

        func run() throws {
            switch (Self.split(source), Self.split(destination)) {
            case (let (c, path)?, nil): try fromContainer(c, path, to: destination)
            case (nil, let (c, path)?): try toContainer(source, c, path)
            case (nil, nil): throw CLIError("must specify at least one container source").withHelp("cp")
            default: throw CLIError("copying between containers is not supported").withHelp("cp")
            }
        }

        /// The decoded `X-Docker-Container-Path-Stat` header.
        static func pathStat(_ r: APIClient.Response) -> JSONValue? {
            guard let text = r.header("X-Docker-Container-Path-Stat"), let bytes = Base64.decode(text) else {
                return nil
            }
            return try? JSONValue.parse(bytes: bytes)
        }

        static func isDir(_ stat: JSONValue?) -> Bool { ((stat?["mode"]?.int64Value ?? 0) >> 31) & 1 == 1 }

        static func untar(_ bytes: [UInt8], into dir: String) throws(CLIError) {
            let r: HostCommand.Result
            do { r = try HostCommand.run(tar, ["-x", "-f", "-", "-C", dir], input: bytes) } catch {
                throw CLIError(error)
            }
            if r.status != 0 { throw CLIError("tar: \(String(decoding: r.stderr, as: UTF8.self).trimmingSpaces)") }
        }

        func fromContainer(_ container: String, _ path: String, to dest: String) throws(CLIError) {
            var src = path.hasPrefix("/") ? path : "/" + path
            let daemon = berth.daemon
            if followLink, !src.hasSuffix("/") {
                // -L: a symlink is copied as what it points to (resolved inside the container).
                let head = try daemon.call(
                    "HEAD", "/containers/\(Daemon.escape(container))/archive", query: [("path", src)])
                let link = Self.pathStat(head)?["linkTarget"]?.stringValue ?? ""
                if !link.isEmpty { src = link.hasPrefix("/") ? link : FileSystem.parent(of: src) + "/" + link }
            }
            let r = try daemon.checked("GET", "/containers/\(Daemon.escape(container))/archive", query: [("path", src)])
            if dest == "-" {
                Output.write(1, r.body[...])
                return
            }
            let srcIsDir = Self.isDir(Self.pathStat(r))
            let contents = src.hasSuffix("/.")
            var st = stat()
            let exists = stat(dest, &st) == 0
            let destIsDir = exists && st.st_mode & S_IFMT == S_IFDIR
            if exists, destIsDir {
                // Into the directory: as DEST/NAME, or the directory's contents with a trailing `/.`.
                try Self.untar(r.body, into: dest)
                return
            }
            if dest.hasSuffix("/") { throw CLIError("destination directory \"\(dest)\" does not exist") }
            if exists, srcIsDir { throw CLIError("cannot copy a directory to a file: \(dest)") }
            // A new (or replaced) DEST: unpacked next to it, then renamed into place.
            let parent = FileSystem.parent(of: dest)
            guard FileSystem.isDirectory(parent) else {
                throw CLIError("destination directory \"\(parent)\" does not exist")
            }
            var template = Array("\(parent)/.berth-cp-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { buf -> String? in
                guard let base = buf.baseAddress, mkdtemp(base) != nil else { return nil }
                return String(cString: base)
            }
            guard let tmp = made else { throw CLIError("cannot make a temporary directory in \(parent)") }
            defer { try? FileSystem.removeTree(tmp) }
            try Self.untar(r.body, into: tmp)
            let top = contents ? tmp : tmp + "/" + FileSystem.basename(src)
            if Glibc.rename(top, dest) != 0 {
                throw CLIError("cannot move the copy to \(dest): \(String(cString: strerror(errno)))")
            }
        }

        func toContainer(_ src: String, _ container: String, _ path: String) throws(CLIError) {
            let dest = path.hasPrefix("/") ? path : "/" + path
            let daemon = berth.daemon
            let archivePath = "/containers/\(Daemon.escape(container))/archive"
            var body: [UInt8]
            var target = dest
            if src == "-" {
                body = try FileInput.read("/dev/stdin")
            } else {
                var st = stat()
                let stated = followLink ? stat(src, &st) : lstat(src, &st)
                guard stated == 0 else { throw CLIError("stat \(src): no such file or directory") }
                let srcIsDir = st.st_mode & S_IFMT == S_IFDIR
                let head = try daemon.call("HEAD", archivePath, query: [("path", dest)])
                let destExists = head.status == 200
                let destIsDir = destExists && Self.isDir(Self.pathStat(head))
                let contents = src.hasSuffix("/.")
                let base = FileSystem.basename(contents ? String(src.dropLast(2)) : src)
                var args = ["-c", "-f", "-"]
                if followLink { args.append("-h") }
                if contents {
                    args += ["-C", String(src.dropLast(2)), "."]
                } else if destIsDir {
                    args += ["-C", FileSystem.parent(of: src), base]
                } else {
                    if destExists, srcIsDir {
                        throw CLIError("cannot copy a directory to a file: \(container):\(dest)")
                    }
                    if dest.hasSuffix("/") { throw CLIError("destination directory \"\(dest)\" does not exist") }
                    // A new name inside the container: the top entry is renamed on the way.
                    let newName = FileSystem.basename(dest)
                        .replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "&", with: "\\&")
                        .replacingOccurrences(of: ",", with: "\\,")
                    args += ["-C", FileSystem.parent(of: src), "--transform", "s,^[^/]*,\(newName),", base]
                    target = FileSystem.parent(of: dest)
                }
                if contents, !destIsDir { target = dest }
                let r: HostCommand.Result
                do { r = try HostCommand.run(Self.tar, args) } catch { throw CLIError(error) }
                if r.status != 0 { throw CLIError("tar: \(String(decoding: r.stderr, as: UTF8.self).trimmingSpaces)") }
                body = r.stdout
            }
            try daemon.checked(
                "PUT", archivePath, query: [("path", target), ("noOverwriteDirNonDir", "true")], body: body)
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
