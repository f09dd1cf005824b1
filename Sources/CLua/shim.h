// Lua 5.4 for Swift: the headers, the function-like macros re-declared as static inline functions, and the
// few helpers that must be C because they longjmp (limits) or are allocators (memory cap).
#ifndef BERTH_CLUA_SHIM_H
#define BERTH_CLUA_SHIM_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

// MARK: - Macros as functions

static inline void berth_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void berth_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline int berth_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline const char *berth_lua_tolstring(lua_State *L, int idx, size_t *len) {
    return lua_tolstring(L, idx, len);
}
static inline lua_Number berth_lua_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
static inline lua_Integer berth_lua_tointeger(lua_State *L, int idx) { return lua_tointeger(L, idx); }
static inline int berth_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int berth_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void berth_lua_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline void berth_lua_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline int berth_lua_ok(void) { return LUA_OK; }
static inline int berth_lua_multret(void) { return LUA_MULTRET; }

// MARK: - Limits

/// One per VM, passed as the allocator's user data, so the count hook finds it with lua_getallocf.
typedef struct berth_lua_limits {
    size_t used;             // bytes allocated now
    size_t max;              // cap on `used`, 0 for none
    int64_t remaining;       // instructions left in the current call (when limited)
    int64_t deadline_ns;     // CLOCK_MONOTONIC deadline of the current call, 0 for none
    int limited;             // 1 while a call runs under limits
    int tripped;             // 1 once a limit was hit in the current call: every later instruction fails too
    char message[160];       // the first trip's "FILE:LINE: ... exceeded", repeated by every later raise
} berth_lua_limits;

enum { BERTH_LUA_HOOK_STEP = 1000 };

static inline int64_t berth_lua_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void *berth_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    berth_lua_limits *lim = (berth_lua_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        lim->used -= old;
        return NULL;
    }
    if (lim->max && nsize > old && lim->used + (nsize - old) > lim->max) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) lim->used = lim->used - old + nsize;
    return p;
}

/// The count hook: raises "FILE:LINE: instruction limit exceeded" or "... time limit exceeded". After the
/// first trip it fires on every instruction, so a script's own pcall cannot swallow the limit and loop on.
static inline void berth_lua_count_hook(lua_State *L, lua_Debug *ar) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    berth_lua_limits *lim = (berth_lua_limits *)ud;
    if (!lim || !lim->limited) return;
    if (!lim->tripped) {
        const char *why = NULL;
        lim->remaining -= BERTH_LUA_HOOK_STEP;
        if (lim->remaining <= 0) {
            why = "instruction limit exceeded";
        } else if (lim->deadline_ns && berth_lua_monotonic_ns() > lim->deadline_ns) {
            why = "time limit exceeded";
        }
        if (!why) return;
        lim->tripped = 1;
        lua_getinfo(L, "Sl", ar);
        if (ar->currentline > 0) {
            snprintf(lim->message, sizeof lim->message, "%s:%d: %s", ar->short_src, ar->currentline, why);
        } else {
            snprintf(lim->message, sizeof lim->message, "%s", why);
        }
        lua_sethook(L, berth_lua_count_hook, LUA_MASKCOUNT, 1);
    }
    lua_pushstring(L, lim->message);
    lua_error(L);
}

static inline lua_State *berth_lua_newstate(berth_lua_limits *lim) {
    return lua_newstate(berth_lua_alloc, lim);
}

/// Arms the limits for one call (instructions <= 0: none; timeout_ns <= 0: none).
static inline void berth_lua_arm(lua_State *L, berth_lua_limits *lim, int64_t instructions, int64_t timeout_ns) {
    lim->remaining = instructions > 0 ? instructions : INT64_MAX;
    lim->deadline_ns = timeout_ns > 0 ? berth_lua_monotonic_ns() + timeout_ns : 0;
    lim->tripped = 0;
    lim->limited = 1;
    lua_sethook(L, berth_lua_count_hook, LUA_MASKCOUNT, BERTH_LUA_HOOK_STEP);
}

static inline void berth_lua_disarm(lua_State *L, berth_lua_limits *lim) {
    lim->limited = 0;
    lua_sethook(L, NULL, 0, 0);
}

// MARK: - Libraries

/// Opens one standard library under its global name (luaL_requiref), popping the module table.
static inline void berth_lua_open(lua_State *L, const char *name) {
    lua_CFunction f = NULL;
    if (name[0] == '_') f = luaopen_base;
    else if (!strcmp(name, "string")) f = luaopen_string;
    else if (!strcmp(name, "table")) f = luaopen_table;
    else if (!strcmp(name, "math")) f = luaopen_math;
    else if (!strcmp(name, "utf8")) f = luaopen_utf8;
    else if (!strcmp(name, "os")) f = luaopen_os;
    else if (!strcmp(name, "io")) f = luaopen_io;
    if (!f) return;
    luaL_requiref(L, name, f, 1);
    lua_pop(L, 1);
}

/// `berth.now()`: wall-clock seconds since the epoch, with sub-second precision.
static inline int berth_lua_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static inline void berth_lua_push_now(lua_State *L) { lua_pushcfunction(L, berth_lua_now); }

/// Names the calling thread (as ps and perf show it).
static inline void berth_lua_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

#endif
