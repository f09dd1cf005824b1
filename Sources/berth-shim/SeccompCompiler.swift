import BerthCore
import CSeccomp
import Glibc

/// Compiles a resolved seccomp profile to a classic BPF program with libseccomp.
///
/// The result is the raw array of `struct sock_filter` (8 bytes each) that `seccomp(SECCOMP_SET_MODE_FILTER)`
/// loads. The filter does not set `no_new_privs` itself (`SCMP_FLTATR_CTL_NNP` is off): the loader decides,
/// and loading without it needs CAP_SYS_ADMIN, as with runc.
///
/// Rules follow runc's conversion of a Docker profile: a syscall name libseccomp does not know is skipped
/// (profiles list syscalls of every architecture and kernel); a rule whose action equals the default action
/// is skipped, since libseccomp refuses it; and a rule that compares one argument twice becomes one rule per
/// comparison, so that those comparisons are alternatives.
enum SeccompCompiler {
    /// The kernel's limit on a filter's length (BPF_MAXINSNS).
    static let maxInstructions = 4096

    /// - Returns: The BPF program as bytes, a multiple of 8 long.
    /// - Throws: `BerthError.invalidArgument` for an architecture, action or rule libseccomp rejects, or a
    ///   program longer than the kernel accepts; `BerthError.system` when the export pipe fails.
    static func compile(_ resolved: SeccompProfile.Resolved) throws(BerthError) -> [UInt8] {
        let defaultAction = scmpAction(resolved.defaultAction, errno: resolved.defaultErrno)
        guard let ctx = seccomp_init(defaultAction) else {
            throw BerthError(
                .invalidArgument, "seccomp: libseccomp refused the default action \(resolved.defaultAction)")
        }
        defer { seccomp_release(ctx) }

        try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "turn off no_new_privs in the filter")
        // Level 2 sorts the rules into a binary tree by syscall number: the same decisions, fewer instructions
        // run per syscall (libseccomp 2.5+).
        try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize the filter as a binary tree")

        for arch in resolved.architectures {
            let token = arch.withCString { seccomp_arch_resolve_name($0) }
            guard token != 0 else {
                throw BerthError(.invalidArgument, "seccomp: libseccomp does not know the architecture \(arch)")
            }
            let rc = seccomp_arch_add(ctx, token)
            // The native architecture is already in a new filter.
            if rc == -EEXIST { continue }
            try check(rc, "add the architecture \(arch)")
        }

        for rule in resolved.rules {
            let action = scmpAction(rule.action, errno: rule.errno)
            if action == defaultAction { continue }
            let number = rule.name.withCString { seccomp_syscall_resolve_name($0) }
            if number == __NR_SCMP_ERROR { continue }
            for conditions in conditionSets(rule.args) {
                let rc = conditions.withUnsafeBufferPointer { buffer in
                    seccomp_rule_add_array(ctx, action, number, UInt32(buffer.count), buffer.baseAddress)
                }
                try check(rc, "add the rule for \(rule.name)")
            }
        }

        return try exportBPF(ctx)
    }

    /// The libseccomp action value; a nil errno (or trace message) means EPERM, as in runc.
    static func scmpAction(_ action: SeccompProfile.Action, errno: Int?) -> UInt32 {
        let value = UInt16(truncatingIfNeeded: errno ?? Int(EPERM))
        switch action {
        case .allow: return SCMP_ACT_ALLOW
        case .errno: return berth_scmp_act_errno(value)
        case .kill, .killThread: return berth_scmp_act_kill_thread()
        case .killProcess: return SCMP_ACT_KILL_PROCESS
        case .trap: return SCMP_ACT_TRAP
        case .trace: return berth_scmp_act_trace(value)
        case .log: return berth_scmp_act_log()
        }
    }

    /// The argument comparisons to add, one array per libseccomp rule. libseccomp ANDs the comparisons of a
    /// rule and rejects two on the same argument, so a rule that repeats an index becomes one rule per
    /// comparison (runc does the same).
    static func conditionSets(_ args: [SeccompProfile.ArgCondition]) -> [[scmp_arg_cmp]] {
        let comparisons = args.map { arg in
            scmp_arg_cmp(arg: UInt32(arg.index), op: scmpOperator(arg.op), datum_a: arg.value, datum_b: arg.valueTwo)
        }
        let indexes = Set(args.map(\.index))
        if indexes.count == args.count { return [comparisons] }
        return comparisons.map { [$0] }
    }

    static func scmpOperator(_ op: SeccompProfile.Operator) -> scmp_compare {
        switch op {
        case .notEqual: return SCMP_CMP_NE
        case .lessThan: return SCMP_CMP_LT
        case .lessOrEqual: return SCMP_CMP_LE
        case .equal: return SCMP_CMP_EQ
        case .greaterOrEqual: return SCMP_CMP_GE
        case .greaterThan: return SCMP_CMP_GT
        case .maskedEqual: return SCMP_CMP_MASKED_EQ
        }
    }

    // MARK: - Export

    /// F_SETPIPE_SZ and F_GETPIPE_SZ are Linux-specific and hidden from Swift's Glibc module (no _GNU_SOURCE);
    /// the values are part of the kernel ABI.
    private static let setPipeSize: Int32 = 1031
    private static let getPipeSize: Int32 = 1032

    /// Writes the program into a pipe and reads it back (libseccomp 2.5 has no `seccomp_export_bpf_mem`).
    ///
    /// The shim is single-threaded, so the whole program must fit in the pipe. The pipe is enlarged (best
    /// effort) and its write end made non-blocking, so an oversized program cannot hang the shim: a write that
    /// fails or fills the pipe is reported as an error instead of returning a truncated program.
    private static func exportBPF(_ ctx: scmp_filter_ctx) throws(BerthError) -> [UInt8] {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw systemError(errno, "create the export pipe") }
        let readEnd = fds[0]
        let writeEnd = fds[1]
        defer { close(readEnd) }

        _ = fcntl(writeEnd, setPipeSize, Int32(256 * 1024))
        let capacity = Int(fcntl(writeEnd, getPipeSize))
        _ = fcntl(writeEnd, F_SETFL, O_NONBLOCK)
        let rc = seccomp_export_bpf(ctx, writeEnd)
        close(writeEnd)
        try check(rc, "export the filter")

        var program: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError(errno, "read the exported filter")
            }
            program.append(contentsOf: chunk[0..<n])
        }

        if capacity > 0, program.count >= capacity {
            throw BerthError(.invalidArgument, "seccomp: the filter does not fit the \(capacity)-byte export pipe")
        }
        guard !program.isEmpty, program.count % 8 == 0 else {
            throw BerthError(
                .internalError, "seccomp: libseccomp exported \(program.count) bytes, not whole instructions")
        }
        guard program.count / 8 <= maxInstructions else {
            throw BerthError(
                .invalidArgument,
                "seccomp: the filter has \(program.count / 8) instructions; the kernel accepts \(maxInstructions)")
        }
        return program
    }

    // MARK: - Errors

    /// libseccomp returns a negated errno.
    private static func check(_ rc: Int32, _ what: String) throws(BerthError) {
        guard rc < 0 else { return }
        throw BerthError(
            .invalidArgument, "seccomp: cannot \(what): \(describe(-rc))",
            cause: BerthError(.system(-rc), describe(-rc)))
    }

    private static func systemError(_ code: Int32, _ what: String) -> BerthError {
        BerthError(.system(code), "seccomp: cannot \(what): \(describe(code))")
    }

    private static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
