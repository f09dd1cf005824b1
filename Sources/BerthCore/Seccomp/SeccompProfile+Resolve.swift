/// Resolving a profile for one container: which entries apply given its capabilities, architecture and kernel.
///
/// The rules follow moby `profiles/seccomp/seccomp_linux.go` (`setupSeccomp`): an entry is dropped when the
/// architecture is in `excludes.arches`, when any capability in `excludes.caps` is held, or when the kernel is
/// at least `excludes.minKernel`; it is kept only when the architecture is in `includes.arches` (if listed),
/// every capability in `includes.caps` is held, and the kernel is at least `includes.minKernel`.
extension SeccompProfile {
    /// A profile reduced to one container: a flat list of per-syscall rules for the libseccomp compiler.
    public struct Resolved: Sendable, Equatable {
        /// One syscall's rule. All `args` conditions must hold for the rule to match.
        public struct Rule: Sendable, Equatable {
            public var name: String
            public var action: Action
            /// The errno for `errno` (the message for `trace`); nil means EPERM.
            public var errno: Int?
            public var args: [ArgCondition]

            public init(name: String, action: Action, errno: Int? = nil, args: [ArgCondition] = []) {
                self.name = name
                self.action = action
                self.errno = errno
                self.args = args
            }
        }

        public var defaultAction: Action
        /// The errno for a default action of `errno`; nil means EPERM.
        public var defaultErrno: Int?
        /// libseccomp architecture names (`x86_64`, `x86`, `x32`, `aarch64`, …), the native one first. Empty
        /// means only the native architecture.
        public var architectures: [String]
        public var rules: [Rule]

        public init(defaultAction: Action, defaultErrno: Int? = nil, architectures: [String] = [], rules: [Rule] = []) {
            self.defaultAction = defaultAction
            self.defaultErrno = defaultErrno
            self.architectures = architectures
            self.rules = rules
        }

        /// The rules for the syscall `name`, in profile order.
        public func rules(for name: String) -> [Rule] {
            rules.filter { $0.name == name }
        }

        /// Whether `name` is allowed whatever its arguments (a rule with action `allow` and no conditions, or
        /// a default action of `allow`).
        public func allowsUnconditionally(_ name: String) -> Bool {
            if defaultAction == .allow { return true }
            return rules.contains { $0.name == name && $0.action == .allow && $0.args.isEmpty }
        }
    }

    /// The profile as it applies to one container.
    ///
    /// - Parameters:
    ///   - capabilities: The container's bounding capabilities, as `CAP_SYS_ADMIN` (`SYS_ADMIN` and lower case
    ///     are accepted too).
    ///   - architecture: The native architecture in Docker's naming (`amd64`, `arm64`, `x86`, `s390x`, …);
    ///     `uname -m` names (`x86_64`, `aarch64`) are accepted too.
    ///   - kernelVersion: The running kernel's release (`uname -r`, for example `"6.1.0-18-amd64"`). When nil,
    ///     no `minKernel` condition is taken as satisfied: entries that require a minimum kernel are left out
    ///     and entries excluded from a minimum kernel are kept. For the default profile this keeps `ptrace`,
    ///     `process_vm_readv` and `process_vm_writev` gated on `CAP_SYS_PTRACE`; Docker allows them on 4.8+.
    /// - Returns: The flattened rules, in profile order, one per syscall name.
    public func resolved(
        capabilities: Set<String>, architecture: String = "amd64", kernelVersion: String? = nil
    ) -> Resolved {
        let caps = Set(capabilities.map(SeccompProfile.normalizedCapability))
        let arch = SeccompProfile.dockerArchitecture(architecture)
        let kernel = kernelVersion.flatMap(KernelVersion.init)

        func atLeast(_ minKernel: String?) -> Bool {
            guard let minKernel, let required = KernelVersion(minKernel), let kernel else { return false }
            return kernel >= required
        }

        var rules: [Resolved.Rule] = []
        for entry in syscalls {
            if entry.excludes.arches.contains(arch) { continue }
            if entry.excludes.caps.contains(where: { caps.contains(SeccompProfile.normalizedCapability($0)) }) {
                continue
            }
            if entry.excludes.minKernel != nil, atLeast(entry.excludes.minKernel) { continue }
            if !entry.includes.arches.isEmpty, !entry.includes.arches.contains(arch) { continue }
            if !entry.includes.caps.allSatisfy({ caps.contains(SeccompProfile.normalizedCapability($0)) }) {
                continue
            }
            if entry.includes.minKernel != nil, !atLeast(entry.includes.minKernel) { continue }
            for name in entry.names {
                rules.append(Resolved.Rule(name: name, action: entry.action, errno: entry.errnoRet, args: entry.args))
            }
        }
        return Resolved(
            defaultAction: defaultAction, defaultErrno: defaultErrnoRet,
            architectures: resolvedArchitectures(native: arch), rules: rules)
    }

    /// `architectures` as given, or the `archMap` entry for the native architecture with its sub-architectures.
    private func resolvedArchitectures(native arch: String) -> [String] {
        let scmpNames: [String]
        if !architectures.isEmpty {
            scmpNames = architectures
        } else if let native = SeccompProfile.scmpArchitectureByDockerName[arch],
            let entry = archMap.first(where: { $0.architecture == native })
        {
            scmpNames = [entry.architecture] + entry.subArchitectures
        } else {
            scmpNames = []
        }
        var seen: Set<String> = []
        return scmpNames.compactMap(SeccompProfile.libseccompArchitecture).filter { seen.insert($0).inserted }
    }
}

// MARK: - Names

extension SeccompProfile {
    /// Docker's architecture names (Go's GOARCH as moby spells it for libseccomp) to `SCMP_ARCH_*` names.
    static let scmpArchitectureByDockerName: [String: String] = [
        "x86": "SCMP_ARCH_X86",
        "amd64": "SCMP_ARCH_X86_64",
        "x32": "SCMP_ARCH_X32",
        "arm": "SCMP_ARCH_ARM",
        "arm64": "SCMP_ARCH_AARCH64",
        "mips": "SCMP_ARCH_MIPS",
        "mipsle": "SCMP_ARCH_MIPSEL",
        "mips64": "SCMP_ARCH_MIPS64",
        "mips64n32": "SCMP_ARCH_MIPS64N32",
        "mipsel64": "SCMP_ARCH_MIPSEL64",
        "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
        "ppc": "SCMP_ARCH_PPC",
        "ppc64": "SCMP_ARCH_PPC64",
        "ppc64le": "SCMP_ARCH_PPC64LE",
        "s390": "SCMP_ARCH_S390",
        "s390x": "SCMP_ARCH_S390X",
        "riscv64": "SCMP_ARCH_RISCV64",
        "loong64": "SCMP_ARCH_LOONGARCH64",
    ]

    /// The libseccomp names (as `seccomp_arch_resolve_name` takes them) of the `SCMP_ARCH_*` names.
    static let libseccompArchitectureByScmpName: [String: String] = [
        "SCMP_ARCH_X86": "x86",
        "SCMP_ARCH_X86_64": "x86_64",
        "SCMP_ARCH_X32": "x32",
        "SCMP_ARCH_ARM": "arm",
        "SCMP_ARCH_AARCH64": "aarch64",
        "SCMP_ARCH_MIPS": "mips",
        "SCMP_ARCH_MIPSEL": "mipsel",
        "SCMP_ARCH_MIPS64": "mips64",
        "SCMP_ARCH_MIPS64N32": "mips64n32",
        "SCMP_ARCH_MIPSEL64": "mipsel64",
        "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
        "SCMP_ARCH_PPC": "ppc",
        "SCMP_ARCH_PPC64": "ppc64",
        "SCMP_ARCH_PPC64LE": "ppc64le",
        "SCMP_ARCH_S390": "s390",
        "SCMP_ARCH_S390X": "s390x",
        "SCMP_ARCH_PARISC": "parisc",
        "SCMP_ARCH_PARISC64": "parisc64",
        "SCMP_ARCH_RISCV64": "riscv64",
        "SCMP_ARCH_LOONGARCH64": "loongarch64",
    ]

    /// The libseccomp name of an `SCMP_ARCH_*` name, or nil if it is not one.
    static func libseccompArchitecture(_ scmpName: String) -> String? {
        libseccompArchitectureByScmpName[scmpName]
    }

    /// Docker's name for an architecture given in Docker, Go or `uname -m` spelling.
    static func dockerArchitecture(_ name: String) -> String {
        switch name.lowercased() {
        case "x86_64", "amd64": return "amd64"
        case "i386", "i486", "i586", "i686", "386", "x86": return "x86"
        case "aarch64", "arm64": return "arm64"
        case "armv7l", "armv6l", "armhf", "arm": return "arm"
        case "mips64le": return "mipsel64"
        case "loongarch64", "loong64": return "loong64"
        case let other: return other
        }
    }

    /// `CAP_SYS_ADMIN` for `CAP_SYS_ADMIN`, `SYS_ADMIN` or `sys_admin`.
    static func normalizedCapability(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }

    /// A kernel release reduced to major, minor and patch numbers, compared as Docker does.
    struct KernelVersion: Comparable {
        var major: Int
        var minor: Int
        var patch: Int

        /// Parses `"4.8"`, `"5.10.0"` or `"6.1.0-18-amd64"`; nil unless it starts with `major.minor`.
        init?(_ text: String) {
            var numbers: [Int] = []
            var current: Int?
            for scalar in text.unicodeScalars {
                if let digit = Int(String(scalar)), scalar.isASCII {
                    current = (current ?? 0) * 10 + digit
                    if current ?? 0 > 1_000_000 { return nil }
                } else {
                    guard let value = current else { break }
                    numbers.append(value)
                    current = nil
                    if scalar != "." || numbers.count == 3 { break }
                }
            }
            if let current, numbers.count < 3 { numbers.append(current) }
            guard numbers.count >= 2 else { return nil }
            major = numbers[0]
            minor = numbers[1]
            patch = numbers.count > 2 ? numbers[2] : 0
        }

        static func < (lhs: KernelVersion, rhs: KernelVersion) -> Bool {
            (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
    }
}
