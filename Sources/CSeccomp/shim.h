#ifndef CSeccomp_SHIM_H
#define CSeccomp_SHIM_H
#include <seccomp.h>
#include <errno.h>

// SCMP_ACT_ERRNO(x) and SCMP_ACT_TRACE(x) are function-like macros; seccomp_rule_add is variadic.
static inline uint32_t berth_scmp_act_errno(uint16_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t berth_scmp_act_trace(uint16_t m) { return SCMP_ACT_TRACE(m); }
static inline uint32_t berth_scmp_act_log(void) { return SCMP_ACT_LOG; }
static inline uint32_t berth_scmp_act_kill_thread(void) { return SCMP_ACT_KILL_THREAD; }

#endif
