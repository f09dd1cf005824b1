import BerthCore
import CLua

/// The lifecycle events a hook script can handle (ARCHITECTURE §5).
public enum HookEvent: String, CaseIterable, Sendable {
    case create, prestart, poststart, stop, poststop, remove
    case pull, build, delete
    case connect, disconnect

    /// Events whose hooks may return changes.
    public var canChange: Bool { self == .create }
    /// Events whose hooks may refuse the operation (and whose errors fail it).
    public var canRefuse: Bool { self == .create || self == .prestart }
}

/// Every loaded hook script in one sandboxed VM, each with its own globals (`_ENV`), `berth` table and
/// key-value store. One VM lets an event's object be built and frozen once for all scripts. What scripts
/// share is read-only to them: the event object and `berth.config` are proxies whose writes fail, `rawset`
/// is not offered, and the string metatable is protected. Confined to the hook engine's thread.
final class HookScripts {
    struct Script {
        let name: String
        var handlers: [HookEvent: Int32] = [:]
    }

    let vm: LuaVM
    private(set) var scripts: [Script] = []
    private let dispatchRef: Int32
    private let freezeRef: Int32
    private let newEnvRef: Int32
    private let drainRef: Int32
    private let exportRef: Int32
    private let importRef: Int32

    /// - Parameters:
    ///   - anyIO, anyExec: whether some script is granted io or exec (the VM opens those libraries; only the
    ///     granted scripts' globals get them).
    ///   - memoryLimit: for all scripts together.
    init(anyIO: Bool, anyExec: Bool, memoryLimit: Int, host: JSONValue) throws(LuaError) {
        vm = try LuaVM(memoryLimit: memoryLimit, permissions: LuaPermissions(io: anyIO, exec: anyExec))
        let L = vm.L
        try vm.load(Self.prelude, chunkName: "=berth")
        vm.push(host)
        berth_lua_push_now(L)
        try vm.call(arguments: 2, limit: nil)
        // The prelude returns dispatch, freeze, new_env, drain, export, import (refs pop from the top).
        importRef = vm.ref()
        exportRef = vm.ref()
        drainRef = vm.ref()
        newEnvRef = vm.ref()
        freezeRef = vm.ref()
        dispatchRef = vm.ref()
    }

    /// Compiles `source` under its own globals and records the event functions it returns.
    func add(name: String, source: String, permissions: LuaPermissions, limit: LuaLimits) throws(LuaError) {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        try vm.load(source, chunkName: "=" + name)
        vm.pushRef(newEnvRef)
        vm.pushString(name)
        lua_pushboolean(L, permissions.io ? 1 : 0)
        lua_pushboolean(L, permissions.exec ? 1 : 0)
        try vm.call(arguments: 3, limit: nil)
        // The chunk's only upvalue is _ENV: the script's own globals.
        guard lua_setupvalue(L, top + 1, 1) != nil else {
            throw LuaError(.runtime, "\(name): cannot set the script's environment")
        }
        try vm.call(arguments: 0, limit: limit)
        guard lua_gettop(L) == top + 1, lua_type(L, -1) == LUA_TTABLE else {
            throw LuaError(
                .runtime,
                "\(name): the script must return a table of event functions (return { create = function(c) ... end })")
        }
        var script = Script(name: name)
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            guard lua_type(L, -2) == LUA_TSTRING, let key = vm.string(at: -2) else {
                throw LuaError(.runtime, "\(name): the returned table must have event names as keys")
            }
            guard let event = HookEvent(rawValue: key) else {
                let known = HookEvent.allCases.map(\.rawValue)
                var message = "\(name): unknown event \"\(key)\""
                if let s = ConfigFile.suggestion(for: key, among: known) { message += " (did you mean \"\(s)\"?)" }
                throw LuaError(.runtime, message + "; events: " + known.joined(separator: ", "))
            }
            guard lua_type(L, -1) == LUA_TFUNCTION else {
                throw LuaError(.runtime, "\(name): \(key) must be a function, not a \(vm.typeName(at: -1))")
            }
            script.handlers[event] = vm.ref()  // pops the function
        }
        scripts.append(script)
    }

    /// What one handler call produced.
    enum Verdict {
        case proceed(JSONValue?)
        case refused(String)
    }

    /// An event's object, pushed and frozen once; stays on the stack until `end`.
    struct Frozen {
        let index: Int32
    }

    func begin(_ object: JSONValue) -> Frozen {
        let L = vm.L
        vm.pushRef(freezeRef)
        vm.push(object)
        // freeze cannot fail short of memory; a failure leaves nil, which handlers then see.
        if berth_lua_pcall(L, 1, 1, 0) != berth_lua_ok() {
            berth_lua_pop(L, 1)
            lua_pushnil(L)
        }
        return Frozen(index: lua_gettop(L))
    }

    func end(_ frozen: Frozen) { lua_settop(vm.L, frozen.index - 1) }

    /// Calls one script's handler of `event` with the frozen object; nil when it has none.
    func call(_ script: Script, _ event: HookEvent, _ frozen: Frozen, limit: LuaLimits) throws(LuaError) -> Verdict? {
        guard let handler = script.handlers[event] else { return nil }
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(dispatchRef)
        vm.pushRef(handler)
        lua_pushvalue(L, frozen.index)
        try vm.call(arguments: 2, limit: limit)
        // dispatch returns a status (0 proceed, 1 refuse, 2 error) and a value.
        switch lua_tointegerx(L, top + 1, nil) {
        case 0:
            if lua_type(L, top + 2) <= LUA_TNIL { return .proceed(nil) }  // none or nil
            return .proceed(try vm.value(at: top + 2, path: "\(event.rawValue) result"))
        case 1: return .refused(vm.string(at: top + 2) ?? "refused")
        default: throw LuaError(.runtime, vm.string(at: top + 2) ?? "unknown error")
        }
    }

    /// The log entries written since the last drain: `{script, level, msg, fields}`.
    func drainLogs() -> [JSONValue] {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(drainRef)
        guard (try? vm.call(arguments: 0, limit: nil)) != nil, lua_gettop(L) == top + 2 else { return [] }
        guard lua_tointegerx(L, top + 2, nil) > 0 else { return [] }
        return (try? vm.value(at: top + 1, path: "logs"))?.arrayValue ?? []
    }

    /// Every script's key-value store, by script name, to carry into the next VM on a reload.
    func exportStores() -> JSONValue {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(exportRef)
        guard (try? vm.call(arguments: 0, limit: nil)) != nil else { return .object([]) }
        return (try? vm.value(at: top + 1, path: "stores")) ?? .object([])
    }

    func importStores(_ stores: JSONValue) {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(importRef)
        vm.push(stores)
        _ = try? vm.call(arguments: 1, limit: nil)
    }

    /// Runs once per VM (after LuaVM's sandbox): keeps the libraries in locals, then builds each script's
    /// globals from them.
    static let prelude = """
        local host, now = ...
        local G = _G
        local base = {}
        for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
                             "tostring", "type", "xpcall", "getmetatable", "setmetatable", "rawequal", "rawget",
                             "rawlen", "_VERSION" }) do
          base[k] = G[k]
        end
        local libs = { string = G.string, table = G.table, math = G.math, utf8 = G.utf8 }
        local real_os, real_io, real_load, real_gc = G.os, G.io, G.load, G.collectgarbage
        local next, type, setmetatable, getmetatable, pcall, tostring, error, pairs =
          next, type, setmetatable, getmetatable, pcall, tostring, error, pairs
        local concat, sub, pack, sort = table.concat, string.sub, table.pack, table.sort
        -- Each event makes short-lived tables (the object, its proxies): the generational collector suits that.
        real_gc("generational")
        -- Scripts share the VM: the string metatable is theirs to use, not to change.
        getmetatable("").__metatable = false

        local function copy(t)
          local c = {}
          for k, v in next, t do c[k] = v end
          return c
        end
        local function ro_error(_, k)
          error("the event table is read-only (cannot set " .. tostring(k) .. ")", 2)
        end
        -- A frozen table is an empty proxy over the real one; nested tables are wrapped on first access
        -- (most hooks read a few fields), and every proxy shares one protected metatable.
        local reals = setmetatable({}, { __mode = "k" })
        local frozen_mt
        local function wrap(t, k, v)
          if type(v) == "table" and reals[v] == nil then
            local p = setmetatable({}, frozen_mt)
            reals[p] = v
            t[k] = p
            return p
          end
          return v
        end
        local function frozen_next(p, k)
          local t = reals[p]
          local nk, nv = next(t, k)
          if nk == nil then return nil end
          return nk, wrap(t, nk, nv)
        end
        frozen_mt = {
          __index = function(p, k) local t = reals[p]; return wrap(t, k, t[k]) end,
          __newindex = ro_error,
          __len = function(p) return #reals[p] end,
          __pairs = function(p) return frozen_next, p, nil end,
          __metatable = false,
        }
        local function freeze(t)
          local p = setmetatable({}, frozen_mt)
          reals[p] = t
          return p
        end

        local logs, nlogs = {}, 0
        local REFUSAL = {}
        local config = freeze(host.config or {})
        local stores = {}

        local function new_env(script, allow_io, allow_exec)
          local env = copy(base)
          for name, lib in next, libs do env[name] = copy(lib) end
          local os = { time = real_os.time, clock = real_os.clock, date = real_os.date, difftime = real_os.difftime }
          if allow_io then
            os.remove, os.rename, os.tmpname, os.getenv = real_os.remove, real_os.rename, real_os.tmpname, real_os.getenv
            env.io = copy(real_io)
            if not allow_exec then env.io.popen = nil end
          elseif allow_exec then
            env.io = { popen = real_io.popen }
          end
          if allow_exec then os.execute = real_os.execute end
          env.os = os
          env._G = env
          env.load = function(chunk, name, mode, e)
            if mode ~= nil and mode ~= "t" then error("load: only text chunks are allowed", 2) end
            return real_load(chunk, name, "t", e or env)
          end
          env.collectgarbage = function(opt, ...)
            if opt == nil or opt == "collect" or opt == "count" or opt == "step" then return real_gc(opt, ...) end
            error("collectgarbage: only \\"collect\\", \\"count\\" and \\"step\\" are allowed", 2)
          end
          local function log(level, msg, fields)
            if nlogs >= 1000 then return end
            nlogs = nlogs + 1
            local f = {}
            if type(fields) == "table" then
              for k, v in pairs(fields) do
                if type(k) == "string" then f[k] = tostring(v) end
              end
            end
            logs[nlogs] = { script = script, level = level, msg = sub(tostring(msg), 1, 4096), fields = f }
          end
          env.print = function(...)
            local parts = pack(...)
            for i = 1, parts.n do parts[i] = tostring(parts[i]) end
            log("info", concat(parts, "\\t"))
          end
          local store, nkeys = stores[script] or {}, 0
          for _ in next, store do nkeys = nkeys + 1 end
          stores[script] = store
          local kv = {}
          function kv.get(k) return store[k] end
          function kv.set(k, v)
            if type(k) ~= "string" or #k > 256 then error("berth.kv.set: the key must be a string of at most 256 bytes", 2) end
            local t = type(v)
            if t ~= "nil" and t ~= "string" and t ~= "number" and t ~= "boolean" then
              error("berth.kv.set: values are strings, numbers or booleans, not " .. t, 2)
            end
            if t == "string" and #v > 65536 then error("berth.kv.set: a value is at most 64 KiB", 2) end
            if store[k] == nil and v ~= nil then
              if nkeys >= 1000 then error("berth.kv.set: the store is full (1000 keys)", 2) end
              nkeys = nkeys + 1
            elseif store[k] ~= nil and v == nil then
              nkeys = nkeys - 1
            end
            store[k] = v
          end
          function kv.keys()
            local out = {}
            for k in next, store do out[#out + 1] = k end
            sort(out)
            return out
          end
          env.berth = {
            version = host.version, script = script, now = now, config = config, kv = kv,
            log = {
              debug = function(m, f) log("debug", m, f) end, info = function(m, f) log("info", m, f) end,
              warn = function(m, f) log("warn", m, f) end, error = function(m, f) log("error", m, f) end,
            },
            refuse = function(reason) return setmetatable({ reason = tostring(reason or "refused") }, REFUSAL) end,
          }
          return env
        end

        local function dispatch(fn, object)
          local ok, result = pcall(fn, object)
          if not ok then return 2, tostring(result) end
          if result == nil then return 0 end
          if getmetatable(result) == REFUSAL then return 1, result.reason end
          if type(result) ~= "table" then
            return 2, "the hook returned a " .. type(result) .. " (expected nothing, a table of changes or berth.refuse(reason))"
          end
          return 0, result
        end
        local function drain()
          local out, n = logs, nlogs
          if n > 0 then logs, nlogs = {}, 0 end
          return out, n
        end
        local function export() return stores end
        local function import(t)
          for script, store in next, t do
            if type(store) == "table" then stores[script] = store end
          end
        end
        -- Scripts reach nothing global but through their own environments.
        for k in next, copy(G) do G[k] = nil end
        return dispatch, freeze, new_env, drain, export, import
        """
}
