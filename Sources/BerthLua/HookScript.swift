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

/// One loaded hook script: its own sandboxed VM, the functions it returned, and its key-value store.
/// Confined to the hook engine's thread.
final class HookScript {
    let name: String
    let vm: LuaVM
    private(set) var handlers: [HookEvent: Int32] = [:]
    private let dispatchRef: Int32
    private let exportRef: Int32
    private let importRef: Int32

    /// Compiles and runs `source`, which must return a table of event functions.
    init(
        name: String, source: String, permissions: LuaPermissions, memoryLimit: Int, limit: LuaLimits,
        host: JSONValue
    ) throws(LuaError) {
        self.name = name
        vm = try LuaVM(memoryLimit: memoryLimit, permissions: permissions)
        let L = vm.L
        // The prelude returns the dispatcher and the store's export/import functions; `host` is its argument.
        try vm.load(Self.prelude, chunkName: "=berth")
        vm.push(host)
        lua_pushstring(L, name)
        berth_lua_push_now(L)
        try vm.call(arguments: 3, limit: nil)
        importRef = vm.ref()
        exportRef = vm.ref()
        dispatchRef = vm.ref()

        let top = lua_gettop(L)
        try vm.load(source, chunkName: "=" + name)
        try vm.call(arguments: 0, limit: limit)
        defer { lua_settop(L, top) }
        guard lua_gettop(L) == top + 1, lua_type(L, -1) == LUA_TTABLE else {
            throw LuaError(
                .runtime,
                "\(name): the script must return a table of event functions (return { create = function(c) ... end })")
        }
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
            handlers[event] = vm.ref()  // pops the function
        }
    }

    /// What one call of a handler produced.
    struct Result {
        enum Verdict {
            case proceed(JSONValue?)
            case refused(String)
        }
        let verdict: Verdict
        let logs: [JSONValue]
    }

    /// Calls the handler of `event` with a read-only copy of `object`.
    func call(_ event: HookEvent, object: JSONValue, limit: LuaLimits) throws(LuaError) -> Result? {
        guard let handler = handlers[event] else { return nil }
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(dispatchRef)
        vm.pushRef(handler)
        vm.push(object)
        try vm.call(arguments: 2, limit: limit)
        // dispatch returns: status ("ok", "refuse" or "error"), value, logs
        let status = vm.string(at: top + 1) ?? "error"
        let logs = (try? vm.value(at: top + 3, path: "logs"))?.arrayValue ?? []
        switch status {
        case "ok":
            return Result(verdict: .proceed(try vm.value(at: top + 2, path: "\(event.rawValue) result")), logs: logs)
        case "refuse":
            return Result(verdict: .refused(vm.string(at: top + 2) ?? "refused"), logs: logs)
        default:
            throw LuaError(.runtime, vm.string(at: top + 2) ?? "unknown error")
        }
    }

    /// The key-value store, to carry it into the script's next VM on a reload.
    func exportStore() -> JSONValue {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(exportRef)
        guard (try? vm.call(arguments: 0, limit: nil)) != nil else { return .object([]) }
        return (try? vm.value(at: top + 1, path: "store")) ?? .object([])
    }

    func importStore(_ store: JSONValue) {
        let L = vm.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        vm.pushRef(importRef)
        vm.push(store)
        _ = try? vm.call(arguments: 1, limit: nil)
    }

    /// Builds the `berth` host table and returns dispatch, export and import. Runs once per VM.
    static let prelude = """
        local host, script, now = ...
        local logs, nlogs = {}, 0
        local levels = { debug = true, info = true, warn = true, error = true }
        local function ro_error(_, k)
          error("the event table is read-only (cannot set " .. tostring(k) .. ")", 2)
        end
        local function freeze(t)
          for k, v in next, t do
            if type(v) == "table" then t[k] = freeze(v) end
          end
          return setmetatable({}, {
            __index = t, __newindex = ro_error, __len = function() return #t end,
            __pairs = function() return next, t, nil end, __metatable = false,
          })
        end
        local function log(level, msg, fields)
          if nlogs >= 100 then return end
          nlogs = nlogs + 1
          local f = {}
          if type(fields) == "table" then
            for k, v in pairs(fields) do
              if type(k) == "string" then f[k] = tostring(v) end
            end
          end
          logs[nlogs] = { level = level, msg = string.sub(tostring(msg), 1, 4096), fields = f }
        end
        local REFUSAL = {}
        local store, nkeys = {}, 0
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
          for k in pairs(store) do out[#out + 1] = k end
          table.sort(out)
          return out
        end
        berth = {
          version = host.version, script = script, now = now, config = freeze(host.config or {}), kv = kv,
          log = {
            debug = function(m, f) log("debug", m, f) end, info = function(m, f) log("info", m, f) end,
            warn = function(m, f) log("warn", m, f) end, error = function(m, f) log("error", m, f) end,
          },
          refuse = function(reason) return setmetatable({ reason = tostring(reason or "refused") }, REFUSAL) end,
        }
        print = function(...)
          local parts = table.pack(...)
          for i = 1, parts.n do parts[i] = tostring(parts[i]) end
          log("info", table.concat(parts, "\\t"))
        end
        local function dispatch(fn, object)
          logs, nlogs = {}, 0
          local ok, result = pcall(fn, freeze(object))
          local out = logs
          logs, nlogs = {}, 0
          if not ok then return "error", tostring(result), out end
          if getmetatable(result) == REFUSAL then return "refuse", result.reason, out end
          if result ~= nil and type(result) ~= "table" then
            return "error", script .. ": the hook returned a " .. type(result) .. " (expected nothing, a table of changes or berth.refuse(reason))", out
          end
          return "ok", result, out
        end
        local function export() return store end
        local function import(t)
          for k, v in pairs(t) do
            if type(k) == "string" and store[k] == nil then nkeys = nkeys + 1 end
            store[k] = v
          end
        end
        return dispatch, export, import
        """
}
