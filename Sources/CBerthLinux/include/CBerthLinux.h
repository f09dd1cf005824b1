// CBerthLinux: the Linux pieces Swift cannot reach directly.
//
// Swift's Glibc module is built without _GNU_SOURCE and cannot call variadic functions (syscall, prctl),
// returns_twice functions (vfork) or function-like macros. Everything here is a plain C function prefixed
// berth_, declared with only standard types so that this header never needs a feature macro itself
// (defining _GNU_SOURCE in a Swift-visible header breaks clean builds: see swift-linux-notes.md).
//
// The container path (berth_container_start/berth_container_resume) runs between clone3 and execve. It is
// called only from the single-threaded berth-shim, never from the multi-threaded daemon.
#ifndef CBERTHLINUX_H
#define CBERTHLINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------------------
// Namespace flags (CLONE_NEW* are hidden from Swift without _GNU_SOURCE).
extern const int BERTH_CLONE_NEWNS;
extern const int BERTH_CLONE_NEWUTS;
extern const int BERTH_CLONE_NEWIPC;
extern const int BERTH_CLONE_NEWPID;
extern const int BERTH_CLONE_NEWNET;
extern const int BERTH_CLONE_NEWCGROUP;

// ---------------------------------------------------------------------------------------------------------
// Mount flags for berth_mount_entry.flags (same values as MS_*; exported because Swift imports MS_* as Int).
extern const unsigned long BERTH_MS_RDONLY;
extern const unsigned long BERTH_MS_NOSUID;
extern const unsigned long BERTH_MS_NODEV;
extern const unsigned long BERTH_MS_NOEXEC;
extern const unsigned long BERTH_MS_BIND;
extern const unsigned long BERTH_MS_REC;
extern const unsigned long BERTH_MS_PRIVATE;
extern const unsigned long BERTH_MS_RELATIME;
extern const unsigned long BERTH_MS_STRICTATIME;

// berth_mount_entry.options bits.
enum {
    BERTH_MOUNT_MKDIR = 1,        // create the target as a directory (mkdir -p) if it does not exist
    BERTH_MOUNT_MKFILE = 2,       // create the target as an empty file if it does not exist (bind of a file)
    BERTH_MOUNT_RO_REMOUNT = 4,   // after a bind mount, remount it read-only (MS_REMOUNT|MS_BIND|MS_RDONLY)
};

/// One mount performed in the container's mount namespace.
/// For `root_mounts` the target is an absolute host path (normally the rootfs directory itself).
/// For `mounts` the target is a path inside the container (absolute, resolved under the rootfs before
/// pivot_root, without following symlinks out of the rootfs).
struct berth_mount_entry {
    const char *source;
    const char *target;
    const char *fstype;   // NULL for bind mounts
    unsigned long flags;  // BERTH_MS_* values
    const char *data;     // fs options, may be NULL
    int options;          // BERTH_MOUNT_* bits
};

struct berth_rlimit {
    int resource;         // RLIMIT_* number
    uint64_t soft;
    uint64_t hard;
};

/// Everything the child needs between clone3 and execve. All pointers stay valid until
/// berth_container_resume returns (the shim keeps them alive).
struct berth_container_config {
    int clone_flags;                       // BERTH_CLONE_NEW* bits (NEWNS is always added)
    const char *rootfs;                    // host directory where the root filesystem is assembled
    const struct berth_mount_entry *root_mounts;  // mounts that build the rootfs (e.g. the overlay)
    int n_root_mounts;
    int readonly_rootfs;                   // remount the rootfs read-only after the mounts
    const struct berth_mount_entry *mounts;       // mounts inside the rootfs after /proc /dev /sys
    int n_mounts;
    int setup_dev;                         // mount proc, a minimal /dev, devpts, shm, mqueue, sysfs (ro)
    int privileged;                        // sysfs read-write, no masked/readonly paths
    const char *const *masked_paths;       // NULL-terminated; a file gets /dev/null bound over it,
                                           // a directory a read-only empty tmpfs
    const char *const *readonly_paths;     // NULL-terminated; bind-mounted read-only onto themselves
    const char *hostname;                  // NULL keeps the current one (no new UTS namespace)
    int loopback_up;                       // bring `lo` up in the new network namespace
    const struct berth_net_inside *interfaces;  // configured after `lo` (the shim made them meanwhile)
    int n_interfaces;
    int join_netns_fd;                     // >= 0: join this network namespace (--network container:NAME)
    const char *const *argv;               // NULL-terminated, argv[0] is the command (path or name)
    const char *const *envp;               // NULL-terminated "K=V" strings; PATH from here is searched
    const char *cwd;                       // working directory inside the container, created if missing
    const char *user;                      // "", "uid", "uid:gid", "name", "name:group", looked up in the
                                           // container's own /etc/passwd and /etc/group after pivot_root
    int set_home;                          // add HOME from the passwd entry (or "/") when envp has none
    uint64_t capabilities;                 // bit n = capability n kept (bounding, permitted, effective,
                                           // inheritable for uid 0); all others dropped from the bounding set
    int no_new_privs;                      // prctl(PR_SET_NO_NEW_PRIVS)
    const void *seccomp_filter;            // struct sock_filter array (raw BPF), NULL for none
    size_t seccomp_filter_len;             // number of sock_filter instructions
    const struct berth_rlimit *rlimits;
    int n_rlimits;
    int stdin_fd, stdout_fd, stderr_fd;    // dup2'd onto 0, 1, 2 in the child (-1: /dev/null)
    int keep_pdeathsig;                    // keep PDEATHSIG=SIGKILL across execve (container dies with shim)
    int tty;                               // a pseudo-terminal from the container's own devpts: its slave is
                                           // stdin, stdout, stderr and the controlling terminal (new session),
                                           // its master goes to the shim (berth_container_resume)
    unsigned short tty_rows, tty_cols;     // its first window size (0: the kernel's default)
    int join_pidfd;                        // >= 0: exec mode: the child joins every namespace and the root of
                                           // this process instead of making new ones (no mounts, no network
                                           // set-up); the caller's pid_for_children is moved into its pid ns
};

/// Opens `path` below the directory `rootfd` as openat2(RESOLVE_IN_ROOT) would: `..` stops at the root and
/// absolute symlinks (also the last component's) restart there. Returns an O_PATH fd or -1 with errno; the
/// symlink-free path it reached, relative to the root, goes to `resolved`.
int berth_resolve_in_root(int rootfd, const char *path, char *resolved, size_t resolved_len);

/// The result of berth_container_start.
struct berth_container {
    pid_t pid;       // the child's pid in the shim's pid namespace
    int pidfd;       // pidfd of the child (-1 if the kernel has none)
    int sync_fd;     // the shim's end of the sync socket
};

/// Clone the container's first process into new namespaces. The child waits for berth_container_resume
/// before it touches anything, so the caller can attach it to cgroups first.
/// - Returns: 0, or -errno when clone3/clone or socketpair fail.
int berth_container_start(const struct berth_container_config *cfg, struct berth_container *out);

/// Let the child run its setup and execve. Blocks until the child has execve'd (the CLOEXEC sync socket
/// reaches EOF) or reported a failure.
/// - Returns: 0 on success; otherwise the exit code class the failure maps to (127: command not found,
///   126: command not executable, 125: any other setup failure) with a NUL-terminated message in `err`
///   such as `exec: "foo": executable file not found in $PATH` or
///   `mount overlay on /var/lib/...: invalid argument`.
/// `pty_master` receives the terminal's master fd when the config asked for a tty (-1 otherwise).
int berth_container_resume(int sync_fd, int *pty_master, char *err, size_t err_len);
/// The failure an exec'd child reported before its go, if one is queued on the sync socket (after it died):
/// the exit class (125, 126, 127) and the message in `err`; 0 when there is none.
int berth_container_pending_error(int sync_fd, char *err, size_t err_len);

// ---------------------------------------------------------------------------------------------------------
// rtnetlink (berth_netlink.c). Each returns 0 or -errno and works in the caller's network namespace.

/// Changes to one link; fields left 0/NULL/-1 are not changed.
struct berth_link_settings {
    int up;                 // 1: set IFF_UP
    const char *master;     // enslave to this bridge
    int netns_fd;           // move into this network namespace (-1: stay)
    const char *new_name;   // rename (the link must be down)
    const uint8_t *mac;     // 6 bytes
    int mtu;
};

int berth_nl_bridge_add(const char *name, int mtu);
int berth_nl_veth_add(const char *name, const char *peer, int mtu);
/// A veth pair whose peer is made in the namespace `peer_netns_fd` (-1: here) with MAC `peer_mac` (NULL: any).
int berth_nl_veth_add_into(const char *name, const char *peer, int mtu, int peer_netns_fd, const uint8_t *peer_mac);
int berth_nl_link_del(const char *name);
int berth_nl_link_set(const char *name, const struct berth_link_settings *settings);
int berth_nl_addr_add(const char *name, const uint8_t addr[4], int prefix);
int berth_nl_route_add_default(const uint8_t gateway[4], const char *dev);
/// A route to `dst`/`prefix` through `gateway`, or on the link when `gateway` is NULL (scope link).
int berth_nl_route_add(const uint8_t dst[4], int prefix, const uint8_t *gateway, const char *dev);

/// A veth pair from a bridge into the network namespace of `pid`, named `container_name` there.
struct berth_veth_config {
    const char *bridge;          // host bridge the host end joins
    const char *host_name;       // host end (e.g. "veth1a2b3c4")
    const char *peer_name;       // unused (kept for the Swift side's layout)
    const char *container_name;  // its name inside ("eth0")
    pid_t pid;                   // a process in the target network namespace
    int mtu;
    int has_mac;
    uint8_t mac[6];
};

/// Creates the pair with its container end already in the container's namespace and the host end on the
/// bridge; the container's first process configures its end (berth_net_configure_inside). Returns 0 or
/// -errno, with the failing step in `err`.
int berth_net_attach_veth(const struct berth_veth_config *config, char *err, size_t err_len);

/// Moves the existing host link `name` (made by a network plugin) into the network namespace at `netns_path`
/// (`/proc/PID/ns/net`, or a sandbox's bind mount), renamed `container_name` there, with `mac` (NULL: its own)
/// and `mtu` (0: its own). Returns 0 or -errno, with the failing step in `err`.
int berth_net_move_link(const char *name, const char *netns_path, const char *container_name, const uint8_t *mac,
                        int mtu, char *err, size_t err_len);

/// A new network namespace, bind-mounted on `path` (created; it must not exist), with `lo` up: a container's
/// sandbox made before the container, so a network plugin can be told its `SandboxKey`. The calling thread
/// enters the new namespace and returns to its own before this returns (CLONE_NEWNET is per thread), so any
/// thread of the daemon may call it. Returns 0 or -errno, with the failing step in `err`.
int berth_netns_create(const char *path, char *err, size_t err_len);

/// Unmounts (lazily) and removes a namespace made by berth_netns_create; the namespace goes with its last user.
int berth_netns_remove(const char *path);

/// A static route of an interface: to `dst`/`prefix`, through `gateway` or (has_gateway 0) on the link.
struct berth_net_route {
    uint8_t dst[4];
    int prefix;
    int has_gateway;
    uint8_t gateway[4];
};

/// An interface as the container's first process configures it, inside its namespace, before execve.
struct berth_net_inside {
    const char *name;
    uint8_t address[4];
    int prefix;
    int has_gateway;
    uint8_t gateway[4];
    const struct berth_net_route *routes;  // static routes (a network plugin's), added before the default
    int n_routes;
    const char *rename_from;  // a plugin's interface made inside the namespace under this name: renamed first
    int has_mac;
    uint8_t mac[6];           // set with the rename
};

/// Brings the interface up, adds its address, its static routes and the default route (in the caller's
/// namespace). A gateway outside the interface's subnet gets an on-link route first.
int berth_net_configure_inside(const struct berth_net_inside *inside, char *err, size_t err_len);

// ---------------------------------------------------------------------------------------------------------
// Spawning (used by the daemon: never Swift between fork and exec).

/// posix_spawn `path` with `argv`/`envp` in a new session. `fds` maps child fd i (0..n_fds-1) to the
/// parent's fds[i] (-1 means /dev/null for 0-2, closed otherwise); every other fd is closed in the child.
/// - Returns: the pid, or -errno.
pid_t berth_spawn(const char *path, const char *const *argv, const char *const *envp, const int *fds, int n_fds);
/// Reaps `pid` on a detached thread of its own (blocked in waitpid until the child exits). Returns 0 or -errno.
int berth_reap_in_background(pid_t pid);

// ---------------------------------------------------------------------------------------------------------
// Syscall wrappers (each returns -1 and sets errno on failure, like libc).

int berth_pidfd_open(pid_t pid);
int berth_pidfd_send_signal(int pidfd, int sig);
int berth_set_child_subreaper(void);
int berth_set_pdeathsig(int sig);
int berth_socketpair_cloexec(int fds[2]);   // AF_UNIX SOCK_STREAM, CLOEXEC
int berth_pipe_cloexec(int fds[2]);
int berth_setns(int fd, int nstype);
int berth_unshare(int flags);
int berth_close_range_from(int first);     // close every fd >= first
int berth_mknod_whiteout(const char *path); // char device 0:0 (overlay whiteout)
int berth_setxattr(const char *path, const char *name, const void *value, size_t size); // lsetxattr
ssize_t berth_lgetxattr(const char *path, const char *name, void *value, size_t size);
int berth_makedev_major(uint64_t dev);
int berth_makedev_minor(uint64_t dev);
/// Send `fd` over the unix socket `sock` with one byte of payload.
int berth_send_fd(int sock, int fd);
/// Receive one fd over the unix socket `sock`; returns the fd or -1.
int berth_recv_fd(int sock);
/// statfs f_type of `path`, or 0 on error.
int64_t berth_statfs_type(const char *path);
/// The value of CLOCK_BOOTTIME/REALTIME in nanoseconds.
int64_t berth_realtime_ns(void);
int64_t berth_monotonic_ns(void);
/// malloc_trim(0): Glibc's module does not export it.
int berth_malloc_trim(void);
/// Process start time (field 22 of /proc/PID/stat) or 0.
uint64_t berth_proc_starttime(pid_t pid);

#ifdef __cplusplus
}
#endif
#endif
