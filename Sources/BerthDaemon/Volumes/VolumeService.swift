import BerthCore
import BerthOS
import BerthPlugins
import Glibc

/// A named volume as Berth records it in `<root>/volumes/<name>/config.json` (the data is the driver's).
struct VolumeRecord: Sendable {
    var name: String
    var driver: String
    var createdAt: Int64
    var labels: [String: String] = [:]
    var options: [String: String] = [:]

    /// Docker marks the volumes it makes for `VOLUME` and `-v /path` with this label.
    static let anonymousLabel = "com.docker.volume.anonymous"
    var isAnonymous: Bool { labels[Self.anonymousLabel] != nil }

    var json: JSONValue {
        .object([
            ("name", .string(name)), ("driver", .string(driver)), ("createdAt", .string(String(createdAt))),
            ("labels", .map(labels)), ("options", .map(options)),
        ])
    }

    init(name: String, driver: String, createdAt: Int64) {
        self.name = name
        self.driver = driver
        self.createdAt = createdAt
    }

    init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, let driver = json["driver"]?.stringValue else { return nil }
        self.init(name: name, driver: driver, createdAt: Int64(json["createdAt"]?.stringValue ?? "") ?? 0)
        labels = json["labels"]?.stringMap ?? [:]
        options = json["options"]?.stringMap ?? [:]
    }
}

/// Named volumes: their records, and the drivers that hold their data (`local`, and later plugins).
actor VolumeService {
    let dir: String
    var drivers: [String: any VolumeDriver]
    let events: EventBus
    var records: [String: VolumeRecord] = [:]
    /// Volume driver plugins, looked up by name when a volume names a driver that is not built in.
    let plugins: PluginRegistry?

    init(root: String, drivers: [any VolumeDriver], events: EventBus, plugins: PluginRegistry? = nil) {
        dir = root + "/volumes"
        self.drivers = Dictionary(uniqueKeysWithValues: drivers.map { ($0.name, $0) })
        self.events = events
        self.plugins = plugins
    }

    /// Reads the records written by earlier runs.
    func load() {
        for name in (try? FileSystem.list(dir)) ?? [] {
            guard let bytes = try? FileSystem.readFile("\(dir)/\(name)/config.json"),
                let json = try? JSONValue.parse(bytes: bytes), let r = VolumeRecord(json: json)
            else { continue }
            records[r.name] = r
        }
    }

    /// Docker's rule for volume names.
    static func validName(_ name: String) -> Bool {
        guard name.utf8.count >= 2, let first = name.unicodeScalars.first,
            first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0))
        }
    }

    /// A built-in driver, or a plugin of that name (activated on first use).
    func driver(_ name: String) async throws(BerthError) -> any VolumeDriver {
        let key = name.isEmpty ? "local" : name
        if let d = drivers[key] { return d }
        guard let plugins else {
            throw .notFound("error looking up volume plugin \(name): plugin \"\(name)\" not found")
        }
        let d = try await PluginVolumeDriver(name: key, registry: plugins)
        drivers[key] = d
        return d
    }

    /// `POST /volumes/create`, and the volumes that `-v name:/path`, `--mount` and `VOLUME` make. An existing
    /// volume of the same driver is returned as it is (as Docker does).
    func create(
        name: String?, driver driverName: String = "", options: [String: String] = [:],
        labels: [String: String] = [:]
    ) async throws(BerthError) -> VolumeRecord {
        let name = name.flatMap { $0.isEmpty ? nil : $0 } ?? Identifier.random()
        guard Self.validName(name) else {
            throw .invalidArgument(
                "create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
            )
        }
        let wanted = driverName.isEmpty ? "local" : driverName
        if let existing = records[name] {
            guard existing.driver == wanted else {
                throw .conflict(
                    "create \(name): a volume with the name \(name) already exists with driver \"\(existing.driver)\"")
            }
            return existing
        }
        let d = try await driver(wanted)
        try await d.create(name: name, options: options)
        var r = VolumeRecord(name: name, driver: wanted, createdAt: Clock.nowNanos())
        r.labels = labels
        r.options = options
        do {
            try FileSystem.createDirectory("\(dir)/\(name)", mode: 0o701)
            try FileSystem.writeFileAtomic("\(dir)/\(name)/config.json", r.json.serialized, mode: 0o600)
        } catch {
            try? await d.remove(name: name)
            throw error
        }
        records[name] = r
        events.publish(type: "volume", action: "create", id: name, attributes: ["driver": wanted])
        return r
    }

    func get(_ name: String) throws(BerthError) -> VolumeRecord {
        guard let r = records[name] else { throw .notFound("get \(name): no such volume") }
        return r
    }

    /// Removes a volume nobody uses (the caller checked).
    func remove(_ name: String) async throws(BerthError) {
        let r = try get(name)
        try await driver(r.driver).remove(name: name)
        try? FileSystem.removeTree("\(dir)/\(name)")
        records[name] = nil
        events.publish(type: "volume", action: "destroy", id: name, attributes: ["driver": r.driver])
    }

    func mount(_ name: String, callerID: String) async throws(BerthError) -> String {
        let r = try get(name)
        let path = try await driver(r.driver).mount(name: name, callerID: callerID)
        events.publish(
            type: "volume", action: "mount", id: name, attributes: ["driver": r.driver, "container": callerID])
        return path
    }

    func unmount(_ name: String, callerID: String) async {
        guard let r = records[name], let d = try? await driver(r.driver) else { return }
        try? await d.unmount(name: name, callerID: callerID)
        events.publish(
            type: "volume", action: "unmount", id: name, attributes: ["driver": r.driver, "container": callerID])
    }

    /// The API's Volume object.
    func json(_ r: VolumeRecord, usage: Bool = false, refCount: Int = 0) async -> JSONValue {
        let path = (try? await driver(r.driver).path(name: r.name)) ?? ""
        var o: JSONValue = .object([
            ("CreatedAt", .string(Clock.rfc3339Nano(r.createdAt / 1_000_000_000 * 1_000_000_000))),
            ("Driver", .string(r.driver)),
            ("Labels", .map(r.labels)), ("Mountpoint", .string(path)), ("Name", .string(r.name)),
            ("Options", r.options.isEmpty ? .null : .map(r.options)), ("Scope", .string("local")),
        ])
        if usage {
            let size = await (try? await driver(r.driver))?.usage(name: r.name) ?? -1
            o["UsageData"] = .object([("Size", .int(size)), ("RefCount", .int(refCount))])
        }
        return o
    }

    func all() -> [VolumeRecord] { records.values.sorted { $0.name < $1.name } }
}
