/// A seccomp profile in Docker's JSON format (moby `profiles/seccomp`).
///
/// The profile is what a user passes with `--security-opt seccomp=profile.json`, and `dockerDefault` is the
/// built-in one. A profile is generic over capabilities and architectures: `resolved(capabilities:architecture:
/// kernelVersion:)` applies each entry's `includes`/`excludes` for one container and yields the flat rule list
/// that `berth-shim` compiles to BPF with libseccomp.
///
/// Decoding (`init(json:)`) and encoding (`json`) live in `SeccompProfile+JSON.swift`.
public struct SeccompProfile: Sendable, Equatable {
    /// What the filter does when a rule matches (Docker's `SCMP_ACT_*` names).
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case allow = "SCMP_ACT_ALLOW"
        /// Fail the syscall with `errnoRet` (EPERM when absent).
        case errno = "SCMP_ACT_ERRNO"
        /// libseccomp's `SCMP_ACT_KILL`, which is the same as `killThread`.
        case kill = "SCMP_ACT_KILL"
        case killThread = "SCMP_ACT_KILL_THREAD"
        case killProcess = "SCMP_ACT_KILL_PROCESS"
        case trap = "SCMP_ACT_TRAP"
        /// Notify a ptrace tracer; `errnoRet` is the message number (EPERM when absent, as runc does).
        case trace = "SCMP_ACT_TRACE"
        case log = "SCMP_ACT_LOG"
    }

    /// How an argument is compared (Docker's `SCMP_CMP_*` names).
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case notEqual = "SCMP_CMP_NE"
        case lessThan = "SCMP_CMP_LT"
        case lessOrEqual = "SCMP_CMP_LE"
        case equal = "SCMP_CMP_EQ"
        case greaterOrEqual = "SCMP_CMP_GE"
        case greaterThan = "SCMP_CMP_GT"
        /// `(arg & value) == valueTwo`: `value` is the mask.
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    /// One condition on a syscall argument. All conditions of a rule must hold, except that conditions
    /// repeating an argument index are alternatives (runc's behaviour; the compiler splits them).
    public struct ArgCondition: Sendable, Hashable {
        /// The argument position, 0 to 5.
        public var index: Int
        public var value: UInt64
        /// The second operand; only `maskedEqual` uses it.
        public var valueTwo: UInt64
        public var op: Operator

        public init(index: Int, value: UInt64, valueTwo: UInt64 = 0, op: Operator) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    /// The architectures a filter covers on one native architecture, as `SCMP_ARCH_*` names.
    public struct ArchMapEntry: Sendable, Equatable {
        /// The native architecture, for example `SCMP_ARCH_X86_64`.
        public var architecture: String
        /// Architectures whose syscalls the native kernel also accepts, for example `SCMP_ARCH_X86`.
        public var subArchitectures: [String]

        public init(architecture: String, subArchitectures: [String] = []) {
            self.architecture = architecture
            self.subArchitectures = subArchitectures
        }
    }

    /// When an entry applies: every listed capability is held, the architecture is one of those listed, and
    /// the kernel is at least `minKernel`. Empty lists do not constrain.
    public struct Filter: Sendable, Equatable {
        /// Capability names such as `CAP_SYS_ADMIN`.
        public var caps: [String]
        /// Docker architecture names such as `amd64`, `x86`, `x32`, `arm64`, `s390x`.
        public var arches: [String]
        /// A kernel release such as `"4.8"`.
        public var minKernel: String?

        public init(caps: [String] = [], arches: [String] = [], minKernel: String? = nil) {
            self.caps = caps
            self.arches = arches
            self.minKernel = minKernel
        }

        public var isEmpty: Bool { caps.isEmpty && arches.isEmpty && minKernel == nil }
    }

    /// One entry of `syscalls`: an action for a group of syscall names, optionally with argument conditions,
    /// applied only when `includes` holds and `excludes` does not.
    public struct SyscallRule: Sendable, Equatable {
        public var names: [String]
        public var action: Action
        /// The errno for `errno` (or the message for `trace`); nil means EPERM.
        public var errnoRet: Int?
        public var args: [ArgCondition]
        public var comment: String?
        /// The entry applies only if all of these hold.
        public var includes: Filter
        /// The entry is dropped if any capability or architecture listed here matches (or the kernel is at
        /// least `minKernel`).
        public var excludes: Filter

        public init(
            names: [String], action: Action, errnoRet: Int? = nil, args: [ArgCondition] = [],
            comment: String? = nil, includes: Filter = Filter(), excludes: Filter = Filter()
        ) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.comment = comment
            self.includes = includes
            self.excludes = excludes
        }
    }

    /// What happens to a syscall no rule matches.
    public var defaultAction: Action
    /// The errno for a default action of `errno`; nil means EPERM.
    public var defaultErrnoRet: Int?
    /// A fixed list of `SCMP_ARCH_*` names. A profile uses either this or `archMap`, not both.
    public var architectures: [String]
    /// Per native architecture, the architectures the filter covers.
    public var archMap: [ArchMapEntry]
    public var syscalls: [SyscallRule]

    public init(
        defaultAction: Action, defaultErrnoRet: Int? = nil, architectures: [String] = [],
        archMap: [ArchMapEntry] = [], syscalls: [SyscallRule] = []
    ) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.archMap = archMap
        self.syscalls = syscalls
    }
}
