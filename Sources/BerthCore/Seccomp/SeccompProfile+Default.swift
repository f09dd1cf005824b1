/// Docker's default seccomp profile.
///
/// Equivalent to moby `profiles/seccomp/default.json` (the profile every `docker run` gets unless it passes
/// `--security-opt seccomp=…`): syscalls fail with EPERM unless allowed; about 350 syscalls are allowed
/// outright; `socket`, `personality` and `clone` are allowed with argument conditions; and the syscalls that
/// need a capability are allowed only when the container holds it. Namespace-creating syscalls (`unshare`,
/// `setns`, `mount`, namespace flags to `clone`), the keyring (`add_key`, `keyctl`, `request_key`), kernel
/// modules, `reboot`, `swapon`, `userfaultfd` and similar are denied.
///
/// The allow list is grouped by subject below; the order of names within the profile does not matter.
extension SeccompProfile {
    public static let dockerDefault = SeccompProfile(
        defaultAction: .errno,
        defaultErrnoRet: 1,  // EPERM
        archMap: [
            ArchMapEntry(architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            ArchMapEntry(architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"]),
            ArchMapEntry(
                architecture: "SCMP_ARCH_MIPS64", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"]),
            ArchMapEntry(
                architecture: "SCMP_ARCH_MIPS64N32", subArchitectures: ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"]),
            ArchMapEntry(
                architecture: "SCMP_ARCH_MIPSEL64", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"]),
            ArchMapEntry(
                architecture: "SCMP_ARCH_MIPSEL64N32", subArchitectures: ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"]),
            ArchMapEntry(architecture: "SCMP_ARCH_S390X", subArchitectures: ["SCMP_ARCH_S390"]),
            ArchMapEntry(architecture: "SCMP_ARCH_RISCV64"),
        ],
        syscalls: [
            allow(DefaultAllowList.all),

            // ptrace cannot bypass seccomp since Linux 4.8, so Docker allows it there without CAP_SYS_PTRACE.
            allow(["process_vm_readv", "process_vm_writev", "ptrace"], includes: Filter(minKernel: "4.8")),

            // Any socket family except AF_VSOCK (40), which reaches the host.
            allow(["socket"], args: [ArgCondition(index: 0, value: 40, op: .notEqual)]),

            // personality(2) only for the harmless personas: PER_LINUX, PER_LINUX32, UNAME26,
            // UNAME26|PER_LINUX32, and 0xffffffff, which queries the current persona.
            allow(["personality"], args: [ArgCondition(index: 0, value: 0x0, op: .equal)]),
            allow(["personality"], args: [ArgCondition(index: 0, value: 0x8, op: .equal)]),
            allow(["personality"], args: [ArgCondition(index: 0, value: 0x2_0000, op: .equal)]),
            allow(["personality"], args: [ArgCondition(index: 0, value: 0x2_0008, op: .equal)]),
            allow(["personality"], args: [ArgCondition(index: 0, value: 0xFFFF_FFFF, op: .equal)]),

            // Architecture-specific syscalls.
            allow(["sync_file_range2", "swapcontext"], includes: Filter(arches: ["ppc64le"])),
            allow(
                ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
                includes: Filter(arches: ["arm", "arm64"])),
            allow(["arch_prctl"], includes: Filter(arches: ["amd64", "x32"])),
            allow(["modify_ldt"], includes: Filter(arches: ["amd64", "x32", "x86"])),
            allow(
                ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"],
                includes: Filter(arches: ["s390", "s390x"])),
            allow(["riscv_flush_icache"], includes: Filter(arches: ["riscv64"])),

            // Syscalls that need a capability.
            allow(["open_by_handle_at"], includes: Filter(caps: ["CAP_DAC_READ_SEARCH"])),
            allow(
                [
                    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
                    "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
                    "umount2", "unshare",
                ],
                includes: Filter(caps: ["CAP_SYS_ADMIN"])),

            // Without CAP_SYS_ADMIN, clone only without namespace flags: (flags & 0x7E020000) == 0, the mask
            // being CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. s390 swaps clone's first two
            // arguments.
            SyscallRule(
                names: ["clone"], action: .allow,
                args: [ArgCondition(index: 0, value: namespaceCloneFlags, op: .maskedEqual)],
                excludes: Filter(caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"])),
            SyscallRule(
                names: ["clone"], action: .allow,
                args: [ArgCondition(index: 1, value: namespaceCloneFlags, op: .maskedEqual)],
                comment: "s390 parameter ordering for clone is different",
                includes: Filter(arches: ["s390", "s390x"]),
                excludes: Filter(caps: ["CAP_SYS_ADMIN"])),
            // clone3's flags are behind a pointer that seccomp cannot inspect, so without CAP_SYS_ADMIN it
            // fails with ENOSYS and libc falls back to clone, which the rule above checks.
            SyscallRule(names: ["clone3"], action: .errno, errnoRet: 38, excludes: Filter(caps: ["CAP_SYS_ADMIN"])),

            allow(["reboot"], includes: Filter(caps: ["CAP_SYS_BOOT"])),
            allow(["chroot"], includes: Filter(caps: ["CAP_SYS_CHROOT"])),
            allow(["delete_module", "init_module", "finit_module"], includes: Filter(caps: ["CAP_SYS_MODULE"])),
            allow(["acct"], includes: Filter(caps: ["CAP_SYS_PACCT"])),
            allow(
                ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
                includes: Filter(caps: ["CAP_SYS_PTRACE"])),
            allow(["iopl", "ioperm"], includes: Filter(caps: ["CAP_SYS_RAWIO"])),
            allow(
                ["settimeofday", "stime", "clock_settime", "clock_settime64"],
                includes: Filter(caps: ["CAP_SYS_TIME"])),
            allow(["vhangup"], includes: Filter(caps: ["CAP_SYS_TTY_CONFIG"])),
            allow(
                ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
                includes: Filter(caps: ["CAP_SYS_NICE"])),
            allow(["syslog"], includes: Filter(caps: ["CAP_SYSLOG"])),
            allow(["bpf"], includes: Filter(caps: ["CAP_BPF"])),
            allow(["perf_event_open"], includes: Filter(caps: ["CAP_PERFMON"])),
        ]
    )

    /// The `clone` flags that create namespaces (0x7E020000 = 2114060288).
    static let namespaceCloneFlags: UInt64 = 0x7E02_0000

    private static func allow(
        _ names: [String], args: [ArgCondition] = [], includes: Filter = Filter()
    ) -> SyscallRule {
        SyscallRule(names: names, action: .allow, args: args, includes: includes)
    }
}

/// The syscalls Docker allows to every container, by subject.
private enum DefaultAllowList {
    static let all =
        processes + scheduling + credentials + signals + time + memory + paths + extendedAttributes
        + fileDescriptors + polling + asyncIO + sockets + ipc

    static let processes = [
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid",
        "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
        "set_tid_address", "set_robust_list", "get_robust_list", "get_thread_area", "set_thread_area",
        "rseq", "restart_syscall", "prctl", "seccomp", "capget", "capset", "getcpu", "getpriority", "setpriority",
        "getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage", "sysinfo", "uname", "umask", "times",
        "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "process_mrelease", "membarrier",
        "getrandom", "ioprio_get", "ioprio_set", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self",
    ]

    static let scheduling = [
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    ]

    /// User and group ids; the `…32` forms are the 32-bit x86 and arm entry points.
    static let credentials = [
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
        "setresuid", "setresuid32", "setresgid", "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
        "setgroups", "setgroups32",
    ]

    static let signals = [
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4",
        "sigprocmask", "sigreturn", "pause", "alarm",
    ]

    /// Reading clocks and timers (setting the clock needs CAP_SYS_TIME; `adjtimex` without it only reads).
    static let time = [
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time",
        "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    ]

    static let memory = [
        "brk", "mmap", "mmap2", "mprotect", "mremap", "munmap", "madvise", "mincore", "msync", "remap_file_pages",
        "mlock", "mlock2", "mlockall", "munlock", "munlockall", "memfd_create", "memfd_secret",
        "pkey_alloc", "pkey_free", "pkey_mprotect",
    ]

    /// Syscalls that name files by path (or by a directory fd and a path).
    static let paths = [
        "open", "openat", "openat2", "creat", "name_to_handle_at", "access", "faccessat", "faccessat2",
        "chdir", "fchdir", "getcwd", "getdents", "getdents64",
        "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
        "statfs", "statfs64", "fstatfs", "fstatfs64",
        "chmod", "fchmod", "fchmodat", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
        "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat", "rename", "renameat", "renameat2",
        "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat",
        "truncate", "truncate64", "ftruncate", "ftruncate64", "utime", "utimes", "utimensat", "utimensat_time64",
        "futimesat",
    ]

    static let extendedAttributes = [
        "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
        "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    ]

    static let fileDescriptors = [
        "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
        "lseek", "_llseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "ioctl",
        "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "fallocate", "fadvise64", "fadvise64_64",
        "readahead", "copy_file_range", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "pipe", "pipe2",
    ]

    /// Waiting: poll/select/epoll, eventfd, inotify, fanotify marks (creating a group needs CAP_SYS_ADMIN), futex.
    static let polling = [
        "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "fanotify_mark", "futex", "futex_time64", "futex_waitv",
    ]

    static let asyncIO = [
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// Socket calls other than `socket` itself, which has its own rule; `socketcall` is 32-bit x86's multiplexer.
    static let sockets = [
        "accept", "accept4", "bind", "connect", "listen", "shutdown", "socketpair", "socketcall",
        "getpeername", "getsockname", "getsockopt", "setsockopt",
        "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "send", "sendto", "sendmsg", "sendmmsg",
    ]

    /// System V and POSIX IPC (isolated by the IPC namespace); `ipc` is the 32-bit multiplexer.
    static let ipc = [
        "ipc", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
        "mq_open", "mq_unlink", "mq_notify", "mq_getsetattr", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64",
    ]
}
