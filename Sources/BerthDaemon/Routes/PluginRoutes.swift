import BerthAPI
import BerthCore
import BerthPlugins

/// `GET /plugins`: the plugins in the plugin directories, in the shape of Docker's plugin list (legacy plugins
/// have no image: `Config.Interface` carries what they implement and where they listen).
enum PluginRoutes {
    static func register(_ t: inout Router.RouteTable, _ d: Daemon) {
        let plugins = d.plugins
        t.add("GET", "/plugins") { _ in
            let list = await plugins.list()
            return .json(.array(list.map(Self.json)))
        }
    }

    /// Docker's interface type for a subsystem (`VolumeDriver` → `docker.volumedriver/1.0`).
    static func interfaceType(_ subsystem: String) -> String { "docker.\(subsystem.lowercased())/1.0" }

    static func json(_ p: PluginStatus) -> JSONValue {
        .object([
            ("Id", .string(SHA256.hash(Array(p.name.utf8)))), ("Name", .string(p.name)),
            ("Enabled", .bool(p.state == "active")),
            (
                "Settings",
                .object([("Mounts", .array([])), ("Env", .array([])), ("Args", .array([])), ("Devices", .array([]))])
            ),
            ("PluginReference", .string("")),
            (
                "Config",
                .object([
                    ("Description", .string(p.state == "active" ? "plugin at \(p.address)" : p.state)),
                    (
                        "Interface",
                        .object([("Types", .strings(p.implements.map(interfaceType))), ("Socket", .string(p.address))])
                    ),
                    ("Implements", .strings(p.implements)), ("State", .string(p.state)),
                ])
            ),
        ])
    }
}
