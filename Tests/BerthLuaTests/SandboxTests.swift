import BerthCore
import BerthLua
import Foundation
import Testing

/// The VM's sandbox, limits and value conversion.
@Suite struct SandboxTests {
    func vm(_ permissions: LuaPermissions = LuaPermissions()) throws -> LuaVM {
        try LuaVM(memoryLimit: 8 << 20, permissions: permissions)
    }

    /// The error of running `code`, or a failure when it runs.
    func error(_ code: String, _ vm: LuaVM? = nil, limit: LuaLimits? = nil) throws -> LuaError {
        let vm = try vm ?? self.vm()
        do {
            try vm.run(code, chunkName: "=t.lua", limit: limit)
        } catch {
            return error
        }
        Issue.record("expected \(code) to fail")
        return LuaError(.runtime, "")
    }

    @Test func escapesAreRefused() throws {
        #expect(try error("io.open('/etc/passwd')").message.contains("attempt to index a nil value (global 'io')"))
        #expect(
            try error("os.execute('touch /tmp/x')").message.contains("attempt to call a nil value (field 'execute')"))
        #expect(try error("os.exit(1)").message.contains("field 'exit'"))
        #expect(try error("os.remove('/tmp/x')").message.contains("field 'remove'"))
        #expect(try error("return os.getenv('HOME')").message.contains("field 'getenv'"))
        #expect(try error("require 'os'").message.contains("global 'require'"))
        #expect(try error("package.loadlib('libc.so.6', 'system')").message.contains("global 'package'"))
        #expect(try error("dofile('/etc/passwd')").message.contains("global 'dofile'"))
        #expect(try error("loadfile('/etc/passwd')").message.contains("global 'loadfile'"))
        #expect(try error("debug.getregistry()").message.contains("global 'debug'"))
        #expect(try error("string.dump(print)").message.contains("field 'dump'"))
        #expect(try error("return (''):dump()").message.contains("method 'dump'"))
        #expect(try error("coroutine.wrap(print)").message.contains("global 'coroutine'"))
    }

    @Test func binaryChunksAreRefused() throws {
        // A precompiled chunk starts with ESC "Lua"; load must refuse it whatever mode is asked for.
        let e1 = try error("assert(load('\\27Lua\\84\\0', 'x', 'b'))")
        #expect(e1.message.contains("only text chunks are allowed"))
        let e2 = try error("assert(load('\\27Lua\\84\\0'))")
        #expect(e2.message.contains("attempt to load a binary chunk"))
        let vm = try vm()
        #expect(throws: LuaError.self) { try vm.run("\u{1B}Lua", chunkName: "=bin") }
        // Text chunks still load.
        #expect(try vm.run("return load('return 1 + 1')()", chunkName: "=t") == [.integer(2)])
    }

    @Test func safeLibrariesWork() throws {
        let vm = try vm()
        let r = try vm.run(
            """
            return string.upper("a") .. string.format("%03d", 7), table.concat({1, 2}, ","), math.max(3, 9),
                   utf8.char(72, 105), type(os.time()), os.date("!%Y", 0)
            """, chunkName: "=t")
        #expect(r == [.string("A007"), .string("1,2"), .integer(9), .string("Hi"), .string("number"), .string("1970")])
    }

    @Test func grantsOpenIoAndExec() throws {
        let path = "/tmp/berth-lua-grant-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let files = try vm(LuaPermissions(io: true))
        try files.run("local f = assert(io.open('\(path)', 'w')); f:write('hi'); f:close()", chunkName: "=t")
        #expect(
            try files.run("local f = io.open('\(path)'); local s = f:read('a'); f:close(); return s", chunkName: "=t")
                == [.string("hi")])
        #expect(try error("os.execute('true')", files).message.contains("field 'execute'"))
        #expect(try error("io.popen('true')", files).message.contains("field 'popen'"))
        let exec = try vm(LuaPermissions(exec: true))
        #expect(try exec.run("return (os.execute('true'))", chunkName: "=t") == [.bool(true)])
        #expect(try error("io.open('/etc/hostname')", exec).message.contains("field 'open'"))
    }

    @Test func runawayLoopsAreStopped() throws {
        let instructions = try error(
            "local n = 0\nwhile true do n = n + 1 end", limit: LuaLimits(instructions: 100_000, timeoutMilliseconds: 0))
        #expect(instructions.kind == .limit)
        #expect(instructions.message == "t.lua:2: instruction limit exceeded")
        let time = try error("\n\nwhile true do end", limit: LuaLimits(instructions: 0, timeoutMilliseconds: 50))
        #expect(time.kind == .limit)
        #expect(time.message == "t.lua:3: time limit exceeded")
        // A script's own pcall cannot swallow the limit and go on.
        let swallowed = try error(
            "while true do pcall(function() while true do end end) end",
            limit: LuaLimits(instructions: 0, timeoutMilliseconds: 50))
        #expect(swallowed.kind == .limit)
        #expect(swallowed.message.hasSuffix("time limit exceeded"))
        // The VM stays usable after a limit.
        let vm = try vm()
        _ = try? vm.run(
            "while true do end", chunkName: "=t", limit: LuaLimits(instructions: 10_000, timeoutMilliseconds: 0))
        #expect(
            try vm.run("return 1", chunkName: "=t", limit: LuaLimits(instructions: 10_000, timeoutMilliseconds: 0)) == [
                .integer(1)
            ])
    }

    @Test func memoryIsCapped() throws {
        let vm = try vm()
        let e = try error("local s = string.rep('x', 64 * 1024 * 1024)", vm)
        #expect(e.kind == .memory)
        let t = try error("local t = {} for i = 1, 1e8 do t[i] = i end", vm)
        #expect(t.kind == .memory)
        #expect(vm.memoryInUse < 9 << 20)
        #expect(try vm.run("return #string.rep('x', 1000)", chunkName: "=t") == [.integer(1000)])
    }

    @Test func valuesConvert() throws {
        let vm = try vm()
        vm.setGlobal("input", .object([("a", .strings(["x", "y"])), ("b", .object([("c", .number(1.5))]))]))
        let r = try vm.run("return input.a[2], input.b.c, #input.a, {k = true}, {}", chunkName: "=t")
        #expect(r == [.string("y"), .number(1.5), .integer(2), .object([("k", .bool(true))]), .object([])])
        #expect(try error("return {1, 2, x = 3}").message.contains("either a list"))
        #expect(try error("return {[true] = 1}").message.contains("key must be a string or an integer"))
    }

    @Test func syntaxErrorsCarryTheLine() throws {
        let e = try error("local a = 1\nlocal b = = 2")
        #expect(e.kind == .syntax)
        #expect(e.message.hasPrefix("t.lua:2:"))
    }
}
