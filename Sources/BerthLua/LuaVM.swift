import BerthCore
import CLua
import Glibc

/// What a sandboxed VM may reach beyond the safe libraries.
public struct LuaPermissions: Sendable, Equatable {
    /// The `io` library and `os.remove`, `os.rename`, `os.tmpname`, `os.getenv`: files on the host.
    public var io = false
    /// `os.execute` and `io.popen`: processes on the host.
    public var exec = false

    public init(io: Bool = false, exec: Bool = false) {
        self.io = io
        self.exec = exec
    }
}

/// Limits on one call into a VM.
public struct LuaLimits: Sendable, Equatable {
    /// VM instructions per call (counted in steps of 1000); 0 for none.
    public var instructions: Int64
    /// Wall time per call, in milliseconds; 0 for none.
    public var timeoutMilliseconds: Int64

    public init(instructions: Int64, timeoutMilliseconds: Int64) {
        self.instructions = instructions
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// A failure inside Lua: a syntax or runtime error, or a limit. `message` starts with `FILE:LINE:` where Lua
/// knows the position.
public struct LuaError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case syntax, runtime, memory, limit }
    public let kind: Kind
    public let message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// One sandboxed Lua 5.4 state.
///
/// Only `base` (without `dofile`, `loadfile`, and with `load` restricted to text chunks), `string` (without
/// `string.dump`), `table`, `math`, `utf8` and `os.time/clock/date/difftime` are open; `io`, `require`,
/// `package`, `debug` and `coroutine` are not, unless `permissions` grant `io`/`exec`. Memory is capped by
/// the allocator. A VM is not thread-safe: confine it to one thread at a time.
public final class LuaVM {
    let L: OpaquePointer
    private let limits: UnsafeMutablePointer<berth_lua_limits>

    /// - Parameters:
    ///   - memoryLimit: bytes the VM may allocate in all; 0 for none.
    public init(memoryLimit: Int, permissions: LuaPermissions = LuaPermissions()) throws(LuaError) {
        limits = .allocate(capacity: 1)
        limits.initialize(to: berth_lua_limits())
        guard let state = berth_lua_newstate(limits) else {
            limits.deallocate()
            throw LuaError(.memory, "cannot create a Lua state")
        }
        L = state
        for lib in ["_G", "string", "table", "math", "utf8", "os"] { berth_lua_open(L, lib) }
        if permissions.io || permissions.exec { berth_lua_open(L, "io") }
        lua_pushboolean(L, permissions.io ? 1 : 0)
        lua_setglobal(L, "__berth_allow_io")
        lua_pushboolean(L, permissions.exec ? 1 : 0)
        lua_setglobal(L, "__berth_allow_exec")
        try run(Self.sandbox, chunkName: "=sandbox")
        // Set after the sandbox is built, so the libraries themselves are not counted against scripts.
        limits.pointee.max = memoryLimit > 0 ? limits.pointee.used + memoryLimit : 0
    }

    deinit {
        lua_close(L)
        limits.deallocate()
    }

    /// Bytes the VM holds now.
    public var memoryInUse: Int { limits.pointee.used }

    /// Prunes the opened libraries down to the safe subset.
    static let sandbox = """
        local allow_io, allow_exec = __berth_allow_io, __berth_allow_exec
        __berth_allow_io, __berth_allow_exec = nil, nil
        local real_os, real_load = os, load
        local safe_os = { time = real_os.time, clock = real_os.clock, date = real_os.date,
                          difftime = real_os.difftime }
        if allow_io then
          safe_os.remove, safe_os.rename = real_os.remove, real_os.rename
          safe_os.tmpname, safe_os.getenv = real_os.tmpname, real_os.getenv
        end
        if allow_exec then safe_os.execute = real_os.execute end
        os = safe_os
        if io then
          if not allow_exec then io.popen = nil end
          if not allow_io then
            local popen = io.popen
            io = { popen = popen }
          end
        end
        dofile, loadfile, require, package, debug, coroutine, warn = nil, nil, nil, nil, nil, nil, nil
        string.dump = nil
        load = function(chunk, name, mode, env)
          if mode ~= nil and mode ~= "t" then error("load: only text chunks are allowed", 2) end
          if env == nil then return real_load(chunk, name, "t") end
          return real_load(chunk, name, "t", env)
        end
        """

    // MARK: - Running code

    /// Compiles `code` (text only: precompiled chunks are refused) and runs it with `arguments` under `limit`,
    /// returning its results.
    @discardableResult
    public func run(_ code: String, chunkName: String, limit: LuaLimits? = nil) throws(LuaError) -> [JSONValue] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        try load(code, chunkName: chunkName)
        try call(arguments: 0, limit: limit)
        return try results(from: top + 1)
    }

    /// Compiles `code` and leaves the chunk on the stack.
    func load(_ code: String, chunkName: String) throws(LuaError) {
        let status = code.withCString { p in
            luaL_loadbufferx(L, p, strlen(p), chunkName, "t")
        }
        guard status == berth_lua_ok() else {
            let message = popMessage()
            throw LuaError(status == LUA_ERRMEM ? .memory : .syntax, message)
        }
    }

    /// Calls the function below the `arguments` on the stack, leaving its results.
    func call(arguments: Int32, limit: LuaLimits?) throws(LuaError) {
        if let limit {
            berth_lua_arm(L, limits, limit.instructions, limit.timeoutMilliseconds * 1_000_000)
        }
        let status = berth_lua_pcall(L, arguments, berth_lua_multret(), 0)
        let tripped = limits.pointee.tripped != 0
        if limit != nil { berth_lua_disarm(L, limits) }
        guard status == berth_lua_ok() else {
            let message = popMessage()
            if status == LUA_ERRMEM { throw LuaError(.memory, "not enough memory (the script's limit)") }
            throw LuaError(tripped ? .limit : .runtime, message)
        }
    }

    private func popMessage() -> String {
        let message = string(at: -1) ?? "(error object is a \(typeName(at: -1)) value)"
        berth_lua_pop(L, 1)
        return message
    }

    func results(from first: Int32) throws(LuaError) -> [JSONValue] {
        let top = lua_gettop(L)
        guard top >= first else { return [] }
        var out: [JSONValue] = []
        for i in first...top { out.append(try value(at: i, path: "result")) }
        return out
    }

    // MARK: - Globals and the registry

    /// Sets a global to a value (tables are built fresh).
    public func setGlobal(_ name: String, _ value: JSONValue) {
        push(value)
        lua_setglobal(L, name)
    }

    /// Reads a global as plain data.
    public func global(_ name: String) throws(LuaError) -> JSONValue {
        lua_getglobal(L, name)
        defer { berth_lua_pop(L, 1) }
        return try value(at: -1, path: name)
    }

    /// Pops the value on top of the stack into the registry and returns its reference.
    func ref() -> Int32 { luaL_ref(L, berth_lua_registryindex()) }

    func pushRef(_ ref: Int32) { lua_rawgeti(L, berth_lua_registryindex(), lua_Integer(ref)) }

    // MARK: - Values

    /// Pushes plain data: objects and arrays become tables, null becomes nil.
    func push(_ value: JSONValue) {
        switch value {
        case .null: lua_pushnil(L)
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, lua_Integer(i))
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): pushString(s)
        case .array(let items):
            lua_createtable(L, Int32(items.count), 0)
            for (i, item) in items.enumerated() {
                push(item)
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
        case .object(let members):
            lua_createtable(L, 0, Int32(members.count))
            for (k, v) in members {
                pushString(k)
                push(v)
                lua_rawset(L, -3)
            }
        }
    }

    func pushString(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { c in _ = lua_pushlstring(L, c.baseAddress, c.count) }
        }
    }

    func string(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER else { return nil }
        // Copy first: lua_tolstring converts a number in place, which must not happen to a key during lua_next.
        lua_pushvalue(L, index)
        defer { berth_lua_pop(L, 1) }
        var len = 0
        guard let p = berth_lua_tolstring(L, -1, &len) else { return nil }
        return p.withMemoryRebound(to: UInt8.self, capacity: len) { u in
            String(decoding: UnsafeBufferPointer(start: u, count: len), as: UTF8.self)
        }
    }

    func typeName(at index: Int32) -> String { String(cString: lua_typename(L, lua_type(L, index))) }

    /// Reads the value at `index` as plain data. A table whose keys are exactly 1...n is an array; any other
    /// table must have string keys. Functions and other values are refused, naming `path`.
    func value(at index: Int32, path: String, depth: Int = 0) throws(LuaError) -> JSONValue {
        let index = index < 0 ? lua_gettop(L) + index + 1 : index
        switch lua_type(L, index) {
        case LUA_TNIL: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .integer(Int64(berth_lua_tointeger(L, index))) }
            return .number(berth_lua_tonumber(L, index))
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TTABLE:
            guard depth < 32 else { throw LuaError(.runtime, "\(path): tables nested too deeply") }
            var strings: [(String, JSONValue)] = []
            var numbered: [(Int64, JSONValue)] = []
            lua_pushnil(L)
            while lua_next(L, index) != 0 {
                if lua_type(L, -2) == LUA_TSTRING, let key = string(at: -2) {
                    strings.append((key, try value(at: -1, path: path + "." + key, depth: depth + 1)))
                } else if lua_type(L, -2) == LUA_TNUMBER, lua_isinteger(L, -2) != 0 {
                    let n = Int64(berth_lua_tointeger(L, -2))
                    numbered.append((n, try value(at: -1, path: "\(path)[\(n)]", depth: depth + 1)))
                } else {
                    let t = typeName(at: -2)
                    berth_lua_pop(L, 2)
                    throw LuaError(.runtime, "\(path): a table key must be a string or an integer, not a \(t)")
                }
                berth_lua_pop(L, 1)
            }
            if numbered.isEmpty { return .object(strings.sorted { $0.0 < $1.0 }) }
            numbered.sort { $0.0 < $1.0 }
            guard strings.isEmpty, numbered.enumerated().allSatisfy({ Int64($0.offset + 1) == $0.element.0 }) else {
                throw LuaError(.runtime, "\(path): a table is either a list (keys 1..n) or a record (string keys)")
            }
            return .array(numbered.map(\.1))
        default:
            throw LuaError(.runtime, "\(path): a \(typeName(at: index)) value cannot be used here")
        }
    }
}
