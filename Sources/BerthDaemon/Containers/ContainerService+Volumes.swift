import BerthArchive
import BerthCore
import BerthOS
import Glibc

/// One mount of a container, resolved at create from `Binds`, `Mounts`, `VolumesFrom` and `Volumes`.
struct MountPoint: Sendable, Equatable {
    /// `bind`, `volume` or `tmpfs`.
    var type: String
    var destination: String
    /// The volume's name (`volume`), or the host path (`bind`).
    var name = ""
    var source = ""
    var driver = ""
    /// The mode as asked (`ro`, `rw`, `z`, …), shown by inspect.
    var mode = ""
    var rw = true
    var propagation = ""
    /// `volume-nocopy`: the image's content is not copied into an empty volume.
    var noCopy = false
    /// tmpfs options (`size=…`, `mode=…`).
    var tmpfsOptions: [String] = []
    /// `--mount volume-opt=` options and labels for a volume the create makes (not kept).
    var volumeOptions: [String: String] = [:]
    var volumeLabels: [String: String] = [:]

    var json: JSONValue {
        .object([
            ("type", .string(type)), ("destination", .string(destination)), ("name", .string(name)),
            ("source", .string(source)), ("driver", .string(driver)), ("mode", .string(mode)), ("rw", .bool(rw)),
            ("propagation", .string(propagation)), ("noCopy", .bool(noCopy)), ("tmpfs", .strings(tmpfsOptions)),
        ])
    }

    init(type: String, destination: String) {
        self.type = type
        self.destination = destination
    }

    init?(json: JSONValue) {
        guard let type = json["type"]?.stringValue, let dest = json["destination"]?.stringValue else { return nil }
        self.init(type: type, destination: dest)
        name = json["name"]?.stringValue ?? ""
        source = json["source"]?.stringValue ?? ""
        driver = json["driver"]?.stringValue ?? ""
        mode = json["mode"]?.stringValue ?? ""
        rw = json["rw"]?.boolValue ?? true
        propagation = json["propagation"]?.stringValue ?? ""
        noCopy = json["noCopy"]?.boolValue ?? false
        tmpfsOptions = json["tmpfs"]?.stringArray ?? []
    }
}

extension ContainerService {
    /// Cleans a container path as Docker does (`/a/b/`, `/a//b` and `/a/./b` are `/a/b`); it must be absolute
    /// and not `/`.
    static func mountDestination(_ path: String, spec: String) throws(BerthError) -> String {
        guard path.hasPrefix("/") else {
            throw .invalidArgument("invalid mount config: mount path must be absolute: \(spec)")
        }
        var parts: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { _ = parts.popLast() } else { parts.append(c) }
        }
        guard !parts.isEmpty else {
            throw .invalidArgument("invalid specification: destination can't be '/' in '\(spec)'")
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `-v SRC:DST[:MODE]` of `Binds`: a host path (which must exist) or a volume name.
    static func parseBindSpec(_ text: String) throws(BerthError) -> MountPoint {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.count <= 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalidArgument("invalid volume specification: '\(text)'")
        }
        var m = MountPoint(type: parts[0].hasPrefix("/") ? "bind" : "volume", destination: "")
        m.destination = try mountDestination(parts[1], spec: text)
        if m.type == "bind" {
            m.source = parts[0]
            guard FileSystem.exists(m.source) else {
                throw .invalidArgument(
                    "invalid mount config for type \"bind\": bind source path does not exist: \(m.source)")
            }
        } else {
            m.name = parts[0]
            guard VolumeService.validName(m.name) else {
                throw .invalidArgument(
                    "create \(m.name): \"\(m.name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
                )
            }
        }
        if parts.count == 3 {
            m.mode = parts[2]
            for o in parts[2].split(separator: ",") {
                switch o {
                case "ro": m.rw = false
                case "rw": m.rw = true
                case "nocopy" where m.type == "volume": m.noCopy = true
                case "z", "Z": break
                case "rprivate", "private", "rshared", "shared", "rslave",
                    "slave" where m.type == "bind":
                    m.propagation = String(o)
                default: throw .invalidArgument("invalid mode: \(o)")
                }
            }
        }
        return m
    }

    /// One `--mount` of `HostConfig.Mounts`.
    static func parseMountSpec(_ j: JSONValue) throws(BerthError) -> MountPoint {
        let type = j["Type"]?.stringValue ?? ""
        guard ["bind", "volume", "tmpfs"].contains(type) else {
            throw .invalidArgument("invalid mount config: mount type unknown: \"\(type)\"")
        }
        guard let target = j["Target"]?.stringValue, !target.isEmpty else {
            throw .invalidArgument("invalid mount config for type \"\(type)\": field Target must not be empty")
        }
        var m = MountPoint(type: type, destination: try mountDestination(target, spec: target))
        m.rw = !(j["ReadOnly"]?.boolValue ?? false)
        let source = j["Source"]?.stringValue ?? ""
        switch type {
        case "bind":
            guard !source.isEmpty else {
                throw .invalidArgument("invalid mount config for type \"bind\": field Source must not be empty")
            }
            guard source.hasPrefix("/") else {
                throw .invalidArgument(
                    "invalid mount config for type \"bind\": invalid mount path: '\(source)' mount path must be absolute"
                )
            }
            guard FileSystem.exists(source) else {
                throw .invalidArgument(
                    "invalid mount config for type \"bind\": bind source path does not exist: \(source)")
            }
            m.source = source
            m.propagation = j["BindOptions"]?["Propagation"]?.stringValue ?? ""
        case "volume":
            if !source.isEmpty, !VolumeService.validName(source) {
                throw .invalidArgument("invalid mount config for type \"volume\": invalid volume name: \(source)")
            }
            m.name = source
            m.noCopy = j["VolumeOptions"]?["NoCopy"]?.boolValue ?? false
            m.driver = j["VolumeOptions"]?["DriverConfig"]?["Name"]?.stringValue ?? ""
            m.volumeOptions = j["VolumeOptions"]?["DriverConfig"]?["Options"]?.stringMap ?? [:]
            m.volumeLabels = j["VolumeOptions"]?["Labels"]?.stringMap ?? [:]
        default:
            guard source.isEmpty else {
                throw .invalidArgument("invalid mount config for type \"tmpfs\": field Source must not be specified")
            }
            m.tmpfsOptions = ["nosuid", "nodev", "noexec"]
            if let size = j["TmpfsOptions"]?["SizeBytes"]?.int64Value, size > 0 {
                m.tmpfsOptions.append("size=\(size)")
            }
            if let mode = j["TmpfsOptions"]?["Mode"]?.intValue, mode > 0 {
                m.tmpfsOptions.append("mode=" + String(mode, radix: 8))
            }
        }
        return m
    }

    /// The mounts a create asks for, with the named volumes made that do not exist yet and anonymous volumes for
    /// `Config.Volumes` (the image's `VOLUME` included) that nothing else covers. Returns the mounts and the
    /// volumes this call made (to remove if the create fails later).
    func resolveMounts(config: JSONValue, hostConfig h: JSONValue) async throws(BerthError) -> ([MountPoint], [String])
    {
        var mounts: [MountPoint] = []
        for bind in h["Binds"]?.stringArray ?? [] { mounts.append(try Self.parseBindSpec(bind)) }
        for m in h["Mounts"]?.arrayValue ?? [] {
            var point = try Self.parseMountSpec(m)
            if point.type == "volume" { point.mode = point.rw ? "z" : "ro" }
            mounts.append(point)
        }
        for from in h["VolumesFrom"]?.stringArray ?? [] {
            let parts = from.split(separator: ":", maxSplits: 1).map(String.init)
            let other = try lookup(parts[0])
            let mode = parts.count > 1 ? parts[1] : ""
            guard ["", "ro", "rw"].contains(mode) else {
                throw .invalidArgument("invalid mode for volumes-from: \(mode)")
            }
            for var m in other.mounts
            where m.type != "tmpfs" && !mounts.contains(where: { $0.destination == m.destination }) {
                if !mode.isEmpty {
                    m.rw = mode == "rw"
                    m.mode = mode
                }
                mounts.append(m)
            }
        }
        var seen: Set<String> = []
        for m in mounts where !seen.insert(m.destination).inserted {
            throw .invalidArgument("Duplicate mount point: \(m.destination)")
        }
        for (path, _) in config["Volumes"]?.objectMembers ?? [] {
            let dest = try Self.mountDestination(path, spec: path)
            if seen.contains(dest) { continue }
            seen.insert(dest)
            mounts.append(MountPoint(type: "volume", destination: dest))
        }
        if let tmpfs = h["Tmpfs"]?.objectMembers {
            for (path, _) in tmpfs where seen.contains(try Self.mountDestination(path, spec: path)) {
                throw .invalidArgument("Duplicate mount point: \(path)")
            }
        }
        // Volumes: named ones are made if missing; an empty name is an anonymous volume.
        var made: [String] = []
        let defaultDriver = h["VolumeDriver"]?.stringValue ?? ""
        do throws(BerthError) {
            for i in mounts.indices where mounts[i].type == "volume" {
                let anonymous = mounts[i].name.isEmpty
                var existing: VolumeRecord? = nil
                if !anonymous { existing = try? await volumes.get(mounts[i].name) }
                let driver = mounts[i].driver.isEmpty ? defaultDriver : mounts[i].driver
                var labels = mounts[i].volumeLabels
                if anonymous { labels[VolumeRecord.anonymousLabel] = "" }
                let r = try await volumes.create(
                    name: anonymous ? nil : mounts[i].name, driver: existing?.driver ?? driver,
                    options: mounts[i].volumeOptions, labels: labels)
                if existing == nil { made.append(r.name) }
                mounts[i].name = r.name
                mounts[i].driver = r.driver
            }
        } catch {
            for name in made { try? await volumes.remove(name) }
            throw error
        }
        return (mounts, made)
    }

    /// The container's mounts for its shim: binds as they are, volumes mounted by their drivers (the image's
    /// content copied into an empty one first, as Docker does), tmpfs with their options.
    func volumeMounts(_ record: ContainerRecord) async throws(BerthError) -> [ShimSpec.Mount] {
        var out: [ShimSpec.Mount] = []
        var mounted: [String] = []
        do throws(BerthError) {
            for m in record.mounts {
                switch m.type {
                case "bind":
                    var options = ["rbind"]
                    if !m.rw { options.append("ro") }
                    out.append(.init(source: m.source, target: m.destination, type: "bind", options: options))
                case "volume":
                    let path = try await volumes.mount(m.name, callerID: record.id)
                    mounted.append(m.name)
                    if !m.noCopy { try await copyImageContent(record, to: path, from: m.destination) }
                    var options = ["rbind"]
                    if !m.rw { options.append("ro") }
                    out.append(.init(source: path, target: m.destination, type: "bind", options: options))
                default:
                    out.append(.init(source: "tmpfs", target: m.destination, type: "tmpfs", options: m.tmpfsOptions))
                }
            }
        } catch {
            for name in mounted { await volumes.unmount(name, callerID: record.id) }
            throw error
        }
        return out
    }

    /// Releases the container's volumes at its exit.
    func releaseVolumes(_ record: ContainerRecord) async {
        for m in record.mounts where m.type == "volume" { await volumes.unmount(m.name, callerID: record.id) }
    }

    /// Copies what the container's image has at `dest` into the empty volume directory `path`, owner and mode of
    /// the directory included.
    func copyImageContent(_ record: ContainerRecord, to path: String, from dest: String) async throws(BerthError) {
        guard ((try? FileSystem.list(path)) ?? ["?"]).isEmpty else { return }
        let prefix = String(dest.dropFirst())
        let tree = try await storage.mergedTree(id: record.id)
        guard let top = tree.first(where: { $0.path == prefix }) else { return }
        var st = stat()
        guard lstat(top.hostPath, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return }
        chown(path, st.st_uid, st.st_gid)
        chmod(path, st.st_mode & 0o7777)
        let entries = tree.compactMap { e -> TreeEntry? in
            guard e.path.hasPrefix(prefix + "/") else { return nil }
            return TreeEntry(path: String(e.path.dropFirst(prefix.count + 1)), hostPath: e.hostPath)
        }
        guard !entries.isEmpty else { return }
        let tmp = configuration.root + "/tmp"
        try FileSystem.createDirectory(tmp)
        let file = "\(tmp)/copyup-\(Identifier.random().prefix(16)).tar"
        defer { unlink(file) }
        let fd = try Syscall.call("open \(file)") { open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try TarWriter.write(entries: entries, to: fd)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw Syscall.error("rewind \(file)", errno: errno) }
        try LayerApplier.apply(archiveFD: fd, to: path, whiteouts: .none)
    }

    /// Containers using volume `name`.
    func volumeUsers(_ name: String) -> [ContainerRecord] {
        records.values.filter { r in r.mounts.contains { $0.type == "volume" && $0.name == name } }
    }

    /// `DELETE /volumes/{name}`: refused while a container uses it (even with force, as Docker).
    func removeVolume(_ name: String, force: Bool) async throws(BerthError) {
        guard (try? await volumes.get(name)) != nil else {
            if force { return }
            throw .notFound("get \(name): no such volume")
        }
        let users = volumeUsers(name)
        if !users.isEmpty {
            throw .conflict("remove \(name): volume is in use - [\(users.map(\.id).sorted().joined(separator: ", "))]")
        }
        try await volumes.remove(name)
    }

    /// `GET /volumes`.
    func listVolumes(filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["dangling", "driver", "label", "name"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        var out: [JSONValue] = []
        for r in await volumes.all() {
            if let d = filters["dangling"]?.first {
                let dangling = volumeUsers(r.name).isEmpty
                if dangling != (d == "true" || d == "1") { continue }
            }
            if let drivers = filters["driver"], !drivers.contains(r.driver) { continue }
            if let names = filters["name"], !names.contains(where: { r.name.contains($0) }) { continue }
            if let labels = filters["label"], !labels.allSatisfy({ Self.labelMatches($0, r.labels) }) { continue }
            out.append(await volumes.json(r))
        }
        return .object([("Volumes", .array(out)), ("Warnings", .null)])
    }

    static func labelMatches(_ filter: String, _ labels: [String: String]) -> Bool {
        let kv = filter.split(separator: "=", maxSplits: 1).map(String.init)
        guard let v = labels[kv[0]] else { return false }
        return kv.count == 1 || v == kv[1]
    }

    /// `POST /volumes/prune`: unused anonymous volumes (with `all=true`, unused named ones too).
    func pruneVolumes(filters: [String: [String]]) async throws(BerthError) -> JSONValue {
        for key in filters.keys where !["label", "all", "label!"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        let all = filters["all"]?.contains { $0 == "true" || $0 == "1" } ?? false
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for r in await volumes.all() where volumeUsers(r.name).isEmpty && (all || r.isAnonymous) {
            if let labels = filters["label"], !labels.allSatisfy({ Self.labelMatches($0, r.labels) }) { continue }
            if let labels = filters["label!"], labels.contains(where: { Self.labelMatches($0, r.labels) }) { continue }
            let size = await (try? await volumes.driver(r.driver))?.usage(name: r.name) ?? 0
            do { try await volumes.remove(r.name) } catch { continue }
            deleted.append(r.name)
            reclaimed += max(0, size)
        }
        return .object([("VolumesDeleted", .strings(deleted)), ("SpaceReclaimed", .int(reclaimed))])
    }
}
