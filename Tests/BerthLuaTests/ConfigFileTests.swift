import BerthCore
import BerthLua
import Foundation
import Testing

/// config.lua: every key decoded, every error with its file, line and key.
@Suite struct ConfigFileTests {
    let choices = ConfigFile.Choices(
        storageDrivers: ["overlay", "overlay2", "vfs"], networks: ["bridge", "none", "host"])

    func decode(_ source: String) throws -> EngineConfiguration {
        try ConfigFile.decode(source: source, file: "/etc/berth/config.lua", choices: choices)
    }

    /// The error message of decoding `source`, or a failure when it decodes.
    func failure(_ source: String) -> String {
        do {
            _ = try decode(source)
            Issue.record("expected an error for: \(source)")
            return ""
        } catch let error as BerthError {
            #expect(error.code == .invalidArgument)
            return error.message
        } catch {
            Issue.record("unexpected error \(error)")
            return ""
        }
    }

    @Test func emptyTableIsTheDefaults() throws {
        #expect(try decode("return {}") == EngineConfiguration())
    }

    @Test func shippedConfigIsTheDocumentedDefaults() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("lua/config.lua").path
        let config = try ConfigFile.load(path: path, choices: choices)
        #expect(config == EngineConfiguration())
        // Every option is documented with a comment on its line.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in [
            "root", "exec_root", "hosts", "log_level", "favordynmods", "driver", "background_cleanup", "default",
            "dir", "timeout_ms", "instruction_limit", "memory_limit_mb", "scripts", "dirs", "name", "nft_table",
            "dns_upstream", "pools",
        ] {
            let line = text.split(separator: "\n").first {
                $0.trimmingCharacters(in: .whitespaces).hasPrefix(key + " =")
            }
            #expect(line?.contains("--") == true, "\(key) has no comment")
        }
    }

    @Test func everyKeyIsDecoded() throws {
        let c = try decode(
            """
            local base = "/srv/berth"
            return {
              root = base .. "/lib",
              exec_root = "/run/b2",
              hosts = { "unix:///run/b2/api.sock", "tcp://127.0.0.1:2375" },
              log_level = "debug",
              cgroups = { favordynmods = false },
              storage = { driver = "vfs", background_cleanup = false },
              network = { default = "host", bridge = { name = "bt0" }, nft_table = "bt_t", dns_upstream = { "127.0.0.77" },
                          pools = { { base = "10.50.0.0/16", size = 24 } } },
              hooks = {
                dir = "/srv/hooks", timeout_ms = 150, instruction_limit = 5000, memory_limit_mb = 8,
                scripts = { ["audit.lua"] = { io = true }, ["run.lua"] = { exec = true, io = false } },
              },
              plugins = { dirs = { "/srv/plugins" }, timeout = 5 },
            }
            """)
        #expect(c.root == "/srv/berth/lib")
        #expect(c.execRoot == "/run/b2")
        #expect(c.hosts == ["unix:///run/b2/api.sock", "tcp://127.0.0.1:2375"])
        #expect(c.logLevel == "debug")
        #expect(c.cgroupFavorDynmods == false)
        #expect(c.storage.driver == "vfs")
        #expect(c.storage.backgroundCleanup == false)
        #expect(c.network.defaultNetwork == "host")
        #expect(c.network.bridgeName == "bt0")
        #expect(c.network.nftTable == "bt_t" && c.network.dnsUpstream == ["127.0.0.77"])
        #expect(
            c.network.pools == [
                SubnetAllocator.Pool(base: IPv4Subnet(IPv4Address(0x0A32_0000), prefixLength: 16), size: 24)
            ])
        #expect(c.hooks.dir == "/srv/hooks")
        #expect(c.hooks.timeoutMilliseconds == 150)
        #expect(c.hooks.instructionLimit == 5000)
        #expect(c.hooks.memoryLimitMiB == 8)
        #expect(c.hooks.scripts["audit.lua"] == EngineConfiguration.ScriptPermissions(io: true, exec: false))
        #expect(c.hooks.scripts["run.lua"] == EngineConfiguration.ScriptPermissions(io: false, exec: true))
        #expect(c.plugins.dirs == ["/srv/plugins"] && c.plugins.timeoutSeconds == 5)
    }

    @Test func syntaxErrorNamesFileAndLine() {
        let m = failure("return {\n  root = \"/x\"\n  storage = {}\n}")
        #expect(m.hasPrefix("/etc/berth/config.lua:3:"), "\(m)")
        #expect(m.contains("'}' expected"), "\(m)")
    }

    @Test func runtimeErrorNamesFileAndLine() {
        let m = failure("local x = nil\n\nreturn { root = x.y }")
        #expect(m.hasPrefix("/etc/berth/config.lua:3:"), "\(m)")
    }

    @Test func unknownKeysSuggestTheNearest() {
        let top = failure("return {\n  root = \"/x\",\n  storgae = { driver = \"vfs\" },\n}")
        #expect(
            top
                == "/etc/berth/config.lua:3: storgae: unknown key \"storgae\" (did you mean \"storage\"?); known keys: root, exec_root, hosts, log_level, cgroups, storage, network, hooks, plugins, registry"
        )
        let nested = failure("return {\n  hooks = {\n    dir = \"/h\",\n    timout_ms = 10,\n  },\n}")
        #expect(
            nested.hasPrefix(
                "/etc/berth/config.lua:4: hooks.timout_ms: unknown key \"timout_ms\" (did you mean \"timeout_ms\"?)"),
            "\(nested)")
        let far = failure("return { colour = 1 }")
        #expect(far.hasPrefix("/etc/berth/config.lua:1: colour: unknown key \"colour\"; known keys:"), "\(far)")
        let grant = failure("return { hooks = { scripts = { [\"a.lua\"] = { ios = true } } } }")
        #expect(grant.contains("hooks.scripts.a.lua.ios: unknown key \"ios\" (did you mean \"io\"?)"), "\(grant)")
    }

    @Test func wrongTypesNameTheKey() {
        let m = failure("return {\n  hooks = {\n    timeout_ms = \"2s\",\n  },\n}")
        #expect(m == "/etc/berth/config.lua:3: hooks.timeout_ms: expected a number, got a string")
        #expect(
            failure("return { storage = \"vfs\" }")
                == "/etc/berth/config.lua:1: storage: expected a table, got a string")
        #expect(
            failure("return { cgroups = { favordynmods = 1 } }").hasSuffix(
                "cgroups.favordynmods: expected true or false, got a number"))
        #expect(
            failure("return { hooks = { timeout_ms = 1.5 } }").hasSuffix("hooks.timeout_ms: expected a whole number"))
        #expect(
            failure("return { hooks = { timeout_ms = 0 } }").hasSuffix(
                "hooks.timeout_ms: 0 is out of range (1...600000)"))
        let host = failure("return {\n  hosts = {\n    \"unix:///a.sock\",\n    \"http://x\",\n  },\n}")
        #expect(
            host
                == "/etc/berth/config.lua:4: hosts[2]: invalid host \"http://x\": expected unix://PATH or tcp://ADDR:PORT"
        )
        #expect(failure("return { root = \"relative\" }").hasSuffix("root: \"relative\" is not an absolute path"))
        #expect(failure("return { hooks = { scripts = { [\"x\"] = {} } } }").contains("expected a script file name"))
    }

    @Test func unknownDriversAndNetworks() {
        let m = failure("return {\n  storage = {\n    driver = \"overlayy\",\n  },\n}")
        #expect(
            m
                == "/etc/berth/config.lua:3: storage.driver: unknown storage driver \"overlayy\" (did you mean \"overlay\"?); available: overlay, overlay2, vfs"
        )
        let n = failure("return { network = { default = \"macvlan\" } }")
        #expect(
            n == "/etc/berth/config.lua:1: network.default: unknown network \"macvlan\"; available: bridge, none, host")
        #expect(failure("return { log_level = \"verbose\" }").contains("unknown log level \"verbose\""))
    }

    @Test func theFileMustReturnOneTable() {
        #expect(failure("local x = 1") == "/etc/berth/config.lua: the file must return one table (return { ... })")
        #expect(failure("return 42").hasSuffix("expected a table, got a number"))
        #expect(failure("return { root = function() end }").contains("a function value cannot be used here"))
    }

    @Test func theConfigRunsInTheSandbox() {
        #expect(failure("io.open('/etc/passwd')\nreturn {}").contains(":1: attempt to index a nil value (global 'io')"))
        #expect(failure("os.execute('true')\nreturn {}").contains("attempt to call a nil value (field 'execute')"))
        #expect(failure("while true do end").contains("instruction limit exceeded"))
    }

    @Test func missingFileIsAnError() {
        #expect(throws: BerthError.self) { try ConfigFile.load(path: "/nonexistent/config.lua", choices: choices) }
    }

    @Test func suggestions() {
        #expect(ConfigFile.suggestion(for: "storgae", among: ["storage", "hooks"]) == "storage")
        #expect(ConfigFile.suggestion(for: "hoks", among: ["storage", "hooks"]) == "hooks")
        #expect(ConfigFile.suggestion(for: "zzz", among: ["storage", "hooks"]) == nil)
    }

    @Test func poolsAreChecked() {
        #expect(failure("return { network = { pools = {} } }").hasSuffix("network.pools: at least one pool is needed"))
        #expect(
            failure("return { network = { pools = { { base = \"10.1.2.3/16\", size = 24 } } } }").contains(
                "is not a network"))
        #expect(
            failure("return { network = { pools = { { base = \"10.1.0.0/16\", size = 40 } } } }").contains(
                "is out of range"))
        #expect(
            failure("return { network = { pools = { { base = \"10.1.0.0/24\", size = 16 } } } }").contains(
                "larger than the base"))
        #expect(
            failure("return { network = { pools = { { base = \"10.1.0.0/16\" } } } }").contains("needs base and size"))
    }
}
