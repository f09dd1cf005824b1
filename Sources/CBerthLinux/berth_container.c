// berth_container_start / berth_container_resume: the container's first process, from clone3 to execve.
//
// Why C: everything here runs in a fork-like child (clone3 with no stack) where Swift must not run. It also
// needs clone3, pivot_root, capset and seccomp (no libc wrappers, and syscall() is variadic), prctl
// (variadic), and CLONE_*/MS_* that Swift's Glibc hides without _GNU_SOURCE. The only caller, berth-shim,
// is single-threaded, so snprintf, strerror and malloc are safe in the child.
#define _GNU_SOURCE
#include "CBerthLinux.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define BERTH_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define BERTH_PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define BERTH_MAX_GROUPS 4096

// clone3's argument block (CLONE_ARGS_SIZE_VER0). Declared here because <linux/sched.h> clashes with
// glibc's <sched.h> on older systems.
struct berth_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

// ---------------------------------------------------------------------------------------------------------
// Failure reporting: one SEQPACKET message "<class><text>" on the sync socket, then _exit(127).

static int berth_sync = -1;  // the child's end of the sync socket

static const char *berth_strerror(int err) {
    static char buf[128];
    snprintf(buf, sizeof buf, "%s", strerror(err));
    for (char *p = buf; *p != '\0'; p++) *p = (char)tolower((unsigned char)*p);  // Go's lower-case wording
    return buf;
}

__attribute__((noreturn, format(printf, 2, 3))) static void berth_fail(char cls, const char *fmt, ...) {
    static char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
    va_end(ap);
    msg[0] = cls;
    size_t len = n < 0 ? 1 : 1 + ((size_t)n < sizeof msg - 1 ? (size_t)n : sizeof msg - 2);
    if (send(berth_sync, msg, len, MSG_NOSIGNAL) < 0) _exit(127);
    _exit(127);
}

// ---------------------------------------------------------------------------------------------------------
// Path resolution inside the rootfs.

// Opens `path` below the directory `rootfd` the way openat2(RESOLVE_IN_ROOT) resolves it: ".." stops at
// the root and absolute symlinks restart there, so nothing resolves outside the rootfs. Missing components
// are created as directories (create = BERTH_MOUNT_MKDIR) or, for the last one, an empty file
// (BERTH_MOUNT_MKFILE). Done by hand because openat2 cannot create files and needs Linux 5.6.
// Returns an O_PATH fd, or -1 with errno set.
static int berth_open_in_root_ex(int rootfd, const char *path, int create, char *resolved, size_t resolved_len);

static int berth_open_in_root(int rootfd, const char *path, int create) {
    return berth_open_in_root_ex(rootfd, path, create, NULL, 0);
}

int berth_resolve_in_root(int rootfd, const char *path, char *resolved, size_t resolved_len) {
    return berth_open_in_root_ex(rootfd, path, 0, resolved, resolved_len);
}

static int berth_open_in_root_ex(int rootfd, const char *path, int create, char *resolved, size_t resolved_len) {
    char rest[2 * PATH_MAX], done[PATH_MAX] = "", name[NAME_MAX + 1], link[PATH_MAX];
    if (strlen(path) >= sizeof rest) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(rest, path);
    size_t pos = 0;
    int links = 0, cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    while (cur >= 0) {
        pos += strspn(rest + pos, "/");
        if (rest[pos] == '\0') {
            if (resolved != NULL && resolved_len > 0) snprintf(resolved, resolved_len, "%s", done);
            return cur;
        }
        size_t len = strcspn(rest + pos, "/");
        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(name, rest + pos, len);
        name[len] = '\0';
        pos += len;
        int last = rest[pos + strspn(rest + pos, "/")] == '\0';
        if (strcmp(name, ".") == 0) continue;
        if (strcmp(name, "..") == 0) {  // `done` holds only real directories: drop the last one and reopen
            char *slash = strrchr(done, '/');
            *(slash != NULL ? slash : done) = '\0';
            close(cur);
            cur = openat(rootfd, done[0] != '\0' ? done : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            continue;
        }
        struct stat st;
        if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT || create == 0) break;
            if (last && create == BERTH_MOUNT_MKFILE) {
                int fd = openat(cur, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0) break;
                close(fd);
            } else if (mkdirat(cur, name, 0755) < 0 && errno != EEXIST) {
                break;
            }
            if (fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0) break;
        }
        if (S_ISLNK(st.st_mode)) {  // splice the target in front of the unresolved rest
            ssize_t n = readlinkat(cur, name, link, sizeof link - 1);
            size_t tail = strlen(rest + pos);
            if (n < 0) break;
            if (++links > 40 || (size_t)n + 1 + tail >= sizeof rest) {
                errno = links > 40 ? ELOOP : ENAMETOOLONG;
                break;
            }
            memmove(rest + n + 1, rest + pos, tail + 1);
            memcpy(rest, link, (size_t)n);
            rest[n] = '/';
            pos = 0;
            if (link[0] == '/') {
                done[0] = '\0';
                close(cur);
                cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
            }
            continue;
        }
        if (!last && !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            break;
        }
        if (strlen(done) + 1 + len >= sizeof done) {
            errno = ENAMETOOLONG;
            break;
        }
        if (done[0] != '\0') strcat(done, "/");
        strcat(done, name);
        int next = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        cur = next;
    }
    if (cur >= 0) {
        int err = errno;
        close(cur);
        errno = err;
    }
    return -1;
}

// mount(2) accepts /proc/self/fd/N as a target: the mount lands exactly on the inode resolved above.
static const char *berth_procfd(int fd) {
    static char buf[2][40];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "/proc/self/fd/%d", fd);
    return buf[which];
}

// ---------------------------------------------------------------------------------------------------------
// Mounts.

// The nosuid/nodev/noexec/atime flags of the mount at `path`: a bind remount must restate them or it
// clears them (and fails for flags locked by a user namespace).
static unsigned long berth_kept_flags(const char *path, unsigned long requested) {
    struct statvfs sv;
    if (statvfs(path, &sv) < 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (!(requested & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME))) {
        if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    }
    return f;
}

static int berth_remount(const char *path, unsigned long flags) {
    flags &= ~(MS_BIND | MS_REC | BERTH_PROPAGATION);
    return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | berth_kept_flags(path, flags), NULL);
}

__attribute__((noreturn)) static void berth_mount_fail(const struct berth_mount_entry *m, const char *what, int err) {
    if (m->fstype != NULL) berth_fail('5', "%s %s on %s: %s", what, m->fstype, m->target, berth_strerror(err));
    berth_fail('5', "%s bind %s on %s: %s", what, m->source ? m->source : "", m->target, berth_strerror(err));
}

// Mounts `m` with its target resolved under `rootfd`. A bind mount with extra flags (ro, nosuid, ...) is
// remounted, because the kernel ignores them on the bind itself; propagation flags need their own call.
static void berth_mount_one(int rootfd, const struct berth_mount_entry *m, int create) {
    unsigned long prop = m->flags & BERTH_PROPAGATION, flags = m->flags & ~BERTH_PROPAGATION;
    int fd = berth_open_in_root(rootfd, m->target, create);
    if (fd < 0 || mount(m->source, berth_procfd(fd), m->fstype, flags, m->data) < 0) {
        berth_mount_fail(m, "mount", errno);
    }
    close(fd);
    int ro = (m->options & BERTH_MOUNT_RO_REMOUNT) ? MS_RDONLY : 0;
    int remount = (flags & MS_BIND) && ((flags & ~(MS_BIND | MS_REC)) || ro);
    if (!remount && !prop) return;
    // The fd above names the directory now covered by the mount: reopen to reach the mount itself.
    if ((fd = berth_open_in_root(rootfd, m->target, 0)) < 0) berth_mount_fail(m, "remount", errno);
    if (remount && berth_remount(berth_procfd(fd), flags | ro) < 0) berth_mount_fail(m, "remount", errno);
    if (prop && mount(NULL, berth_procfd(fd), NULL, prop | (flags & MS_REC), NULL) < 0) {
        berth_mount_fail(m, "set propagation of", errno);
    }
    close(fd);
}

static void berth_mount_simple(int rootfd, const char *source, const char *fstype, const char *target,
                               unsigned long flags, const char *data) {
    struct berth_mount_entry m = {source, target, fstype, flags, data, BERTH_MOUNT_MKDIR};
    berth_mount_one(rootfd, &m, BERTH_MOUNT_MKDIR);
}

static const struct { const char *name; unsigned major, minor; } berth_devices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
static const struct { const char *name, *target; } berth_dev_links[] = {
    {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

// proc, a minimal /dev like Docker's, and sysfs, all under the rootfs.
static void berth_setup_dev(int rootfd, int privileged) {
    berth_mount_simple(rootfd, "proc", "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    berth_mount_simple(rootfd, "tmpfs", "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    int dev = berth_open_in_root(rootfd, "/dev", 0);
    if (dev < 0) berth_fail('5', "open /dev: %s", berth_strerror(errno));
    for (size_t i = 0; i < sizeof berth_devices / sizeof berth_devices[0]; i++) {
        dev_t nr = makedev(berth_devices[i].major, berth_devices[i].minor);
        if (mknodat(dev, berth_devices[i].name, S_IFCHR | 0666, nr) < 0) {
            berth_fail('5', "mknod /dev/%s: %s", berth_devices[i].name, berth_strerror(errno));
        }
    }
    for (size_t i = 0; i < sizeof berth_dev_links / sizeof berth_dev_links[0]; i++) {
        if (symlinkat(berth_dev_links[i].target, dev, berth_dev_links[i].name) < 0) {
            berth_fail('5', "symlink /dev/%s: %s", berth_dev_links[i].name, berth_strerror(errno));
        }
    }
    // /dev/console without a terminal: an empty file with /dev/null bound over it, never the host console.
    int console = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    int null = openat(dev, "null", O_PATH | O_CLOEXEC);
    if (console < 0 || null < 0 || mount(berth_procfd(null), berth_procfd(console), NULL, MS_BIND, NULL) < 0) {
        berth_fail('5', "create /dev/console: %s", berth_strerror(errno));
    }
    close(console);
    close(null);
    close(dev);
    berth_mount_simple(rootfd, "devpts", "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                       "newinstance,ptmxmode=0666,mode=0620,gid=5");
    berth_mount_simple(rootfd, "shm", "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    berth_mount_simple(rootfd, "mqueue", "mqueue", "/dev/mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);

    unsigned long sysflags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (privileged ? 0 : MS_RDONLY);
    int sys = berth_open_in_root(rootfd, "/sys", BERTH_MOUNT_MKDIR);
    if (sys < 0) berth_fail('5', "mount sysfs on /sys: %s", berth_strerror(errno));
    if (mount("sysfs", berth_procfd(sys), "sysfs", sysflags, NULL) < 0) {
        if (errno != EPERM) berth_fail('5', "mount sysfs on /sys: %s", berth_strerror(errno));
        // sysfs refuses a network namespace our user namespace does not own: bind the host's instead.
        struct berth_mount_entry bind = {"/sys", "/sys", NULL, MS_BIND | MS_REC | sysflags, NULL, 0};
        berth_mount_one(rootfd, &bind, 0);
    }
    close(sys);
}

// A file gets /dev/null bound over it, a directory an empty read-only tmpfs; missing paths are skipped.
static void berth_mask_path(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT) return;
        berth_fail('5', "mask %s: %s", path, berth_strerror(errno));
    }
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                                 : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (rc < 0) berth_fail('5', "mask %s: %s", path, berth_strerror(errno));
}

static void berth_readonly_path(const char *path) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) return;
        berth_fail('5', "bind mount %s on itself: %s", path, berth_strerror(errno));
    }
    if (berth_remount(path, MS_RDONLY) < 0) berth_fail('5', "remount %s read-only: %s", path, berth_strerror(errno));
}

// ---------------------------------------------------------------------------------------------------------
// Users: /etc/passwd and /etc/group of the container, parsed by hand. getpwnam would load the host's NSS
// modules into the container and read the host's configuration.

struct berth_user {
    const char *user, *group;  // the two halves of cfg->user
    long user_id, group_id;    // their numeric values, or -1
    int found;
    uid_t uid;
    gid_t gid;
    char name[256], home[PATH_MAX];
    gid_t groups[BERTH_MAX_GROUPS];
    int n_groups;
};

// A decimal id in 0...INT32_MAX, -1 when `s` is not a number at all; out of range fails.
static long berth_parse_id(const char *s) {
    if (*s == '\0' || strspn(s, "0123456789") != strlen(s)) return -1;
    if (strlen(s) > 10 || strtol(s, NULL, 10) > INT32_MAX) {
        berth_fail('5', "%s: uids and gids must be in range 0-%d", s, INT32_MAX);
    }
    return strtol(s, NULL, 10);
}

// Calls `fn` with each non-empty line of `path` split at ':' (at most 8 fields) until it returns nonzero.
// A missing file counts as empty, like runc.
static void berth_each_entry(const char *path, int (*fn)(char **f, int n, struct berth_user *u),
                             struct berth_user *u) {
    static char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        berth_fail('5', "open %s: %s", path, berth_strerror(errno));
    }
    size_t len = 0;
    int eof = 0;
    for (;;) {
        char *nl = memchr(buf, '\n', len);
        if (nl == NULL && !eof && len < sizeof buf - 1) {
            ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) berth_fail('5', "read %s: %s", path, berth_strerror(errno));
            eof = n == 0;
            len += (size_t)n;
            continue;
        }
        if (len == 0) break;
        size_t line = nl != NULL ? (size_t)(nl - buf) : len;  // no newline: last (or over-long) line
        buf[line] = '\0';
        char *fields[8], *p = buf;
        int n = 0, stop = 0;
        while (n < 8 && p != NULL) {
            fields[n++] = p;
            if ((p = strchr(p, ':')) != NULL) *p++ = '\0';
        }
        if (buf[0] != '\0') stop = fn(fields, n, u);
        size_t used = nl != NULL ? line + 1 : len;
        memmove(buf, buf + used, len - used);
        len -= used;
        if (stop) break;
    }
    close(fd);
}

// passwd: name:password:uid:gid:gecos:home:shell. A numeric (or empty) user matches the uid, else the name.
static int berth_match_passwd(char **f, int n, struct berth_user *u) {
    if (n < 4) return 0;
    long uid = strspn(f[2], "0123456789") == strlen(f[2]) ? strtol(f[2], NULL, 10) : -1;
    long gid = strspn(f[3], "0123456789") == strlen(f[3]) ? strtol(f[3], NULL, 10) : -1;
    int match = u->user_id >= 0 ? uid == u->user_id : strcmp(f[0], u->user) == 0;
    if (!match || uid < 0 || gid < 0) return 0;
    u->found = 1;
    u->uid = (uid_t)uid;
    u->gid = (gid_t)gid;
    snprintf(u->name, sizeof u->name, "%s", f[0]);
    snprintf(u->home, sizeof u->home, "%s", n > 5 && f[5][0] != '\0' ? f[5] : "/");
    return 1;
}

// group: name:password:gid:member,member. The first entry named (or numbered) like the group wins.
static int berth_match_group(char **f, int n, struct berth_user *u) {
    if (n < 3 || f[2][0] == '\0' || strspn(f[2], "0123456789") != strlen(f[2])) return 0;
    long gid = strtol(f[2], NULL, 10);
    if (strcmp(f[0], u->group) != 0 && gid != u->group_id) return 0;
    u->found = 1;
    u->gid = (gid_t)gid;
    return 1;
}

static void berth_add_group(struct berth_user *u, gid_t gid) {
    for (int i = 0; i < u->n_groups; i++) {
        if (u->groups[i] == gid) return;
    }
    if (u->n_groups == BERTH_MAX_GROUPS) berth_fail('5', "user %s: too many supplementary groups", u->name);
    u->groups[u->n_groups++] = gid;
}

// Supplementary groups: every group that lists the user by name.
static int berth_match_member(char **f, int n, struct berth_user *u) {
    if (n < 4 || f[2][0] == '\0' || strspn(f[2], "0123456789") != strlen(f[2])) return 0;
    for (char *m = strtok(f[3], ","); m != NULL; m = strtok(NULL, ",")) {
        if (strcmp(m, u->name) == 0) berth_add_group(u, (gid_t)strtol(f[2], NULL, 10));
    }
    return 0;
}

// Resolves "", "uid", "uid:gid", "name", "name:group", "uid:group" or "name:gid" the way Docker does:
// runc's lookup, plus the primary group first in the supplementary list (moby's fix for CVE-2023-25173).
static void berth_resolve_user(const char *spec, struct berth_user *u) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s", spec != NULL ? spec : "");
    char *colon = strchr(buf, ':');
    if (colon != NULL) *colon = '\0';
    u->user = buf;
    u->group = colon != NULL ? colon + 1 : "";
    u->user_id = buf[0] == '\0' ? 0 : berth_parse_id(buf);
    u->group_id = berth_parse_id(u->group);
    u->uid = u->user_id >= 0 ? (uid_t)u->user_id : 0;
    u->gid = 0;  // a uid without a passwd entry gets gid 0, like Docker
    snprintf(u->home, sizeof u->home, "/");
    berth_each_entry("/etc/passwd", berth_match_passwd, u);
    if (!u->found && u->user_id < 0) {
        berth_fail('5', "unable to find user %s: no matching entries in passwd file", u->user);
    }
    if (u->group[0] != '\0') {
        u->found = 0;
        berth_each_entry("/etc/group", berth_match_group, u);
        if (!u->found && u->group_id < 0) {
            berth_fail('5', "unable to find group %s: no matching entries in group file", u->group);
        }
        if (!u->found) u->gid = (gid_t)u->group_id;
    }
    berth_add_group(u, u->gid);
    if (u->group[0] == '\0' && u->name[0] != '\0') {
        berth_each_entry("/etc/group", berth_match_member, u);  // only without an explicit group, like runc
    }
}

// ---------------------------------------------------------------------------------------------------------
// Process attributes.

static int berth_cap_last_cap(void) {
    char buf[16] = "";
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        int v = n > 0 ? atoi(buf) : 0;
        if (v > 0 && v < 64) return v;
    }
    int cap = 0;  // no /proc: probe the bounding set
    while (cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) cap++;
    return cap;
}

static void berth_set_caps(uint64_t caps) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        uint32_t word = (uint32_t)(caps >> (32 * i));
        data[i].effective = data[i].permitted = data[i].inheritable = word;
    }
    if (syscall(SYS_capset, &hdr, data) < 0) berth_fail('5', "capset: %s", berth_strerror(errno));
}

static void berth_load_seccomp(const struct berth_container_config *cfg) {
    if (cfg->seccomp_filter == NULL || cfg->seccomp_filter_len == 0) return;
    if (cfg->seccomp_filter_len > USHRT_MAX) berth_fail('5', "seccomp filter too long");
    struct sock_fprog prog = {.len = (unsigned short)cfg->seccomp_filter_len,
                              .filter = (struct sock_filter *)cfg->seccomp_filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        berth_fail('5', "load seccomp filter: %s", berth_strerror(errno));
    }
}

static void berth_loopback_up(void) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) berth_fail('5', "bring lo up: %s", berth_strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) berth_fail('5', "bring lo up: %s", berth_strerror(errno));
    close(s);
}

static const char *const berth_rlimit_names[] = {
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static void berth_set_rlimit(const struct berth_rlimit *r) {
    struct rlimit rl = {.rlim_cur = (rlim_t)r->soft, .rlim_max = (rlim_t)r->hard};
    if (setrlimit(r->resource, &rl) == 0) return;
    int err = errno;
    char unknown[32];
    const char *name = berth_rlimit_names[0];
    if (r->resource >= 0 && (size_t)r->resource < sizeof berth_rlimit_names / sizeof berth_rlimit_names[0]) {
        name = berth_rlimit_names[r->resource];
    } else {
        snprintf(unknown, sizeof unknown, "resource %d", r->resource);
        name = unknown;
    }
    berth_fail('5', "setrlimit %s: %s%s", name, berth_strerror(err),
               err == EPERM ? " (hard limit above the host's)" : "");
}

// stdio onto 0-2 (copied above 2 first so that e.g. stdin_fd = 1, stdout_fd = 0 works), then every
// other fd marked close-on-exec: the sync socket must stay open until execve itself.
static void berth_setup_stdio(const int src[3], int devnull) {
    int tmp[3];
    for (int i = 0; i < 3; i++) {
        if ((tmp[i] = fcntl(src[i] >= 0 ? src[i] : devnull, F_DUPFD_CLOEXEC, 3)) < 0) {
            berth_fail('5', "dup stdio fd %d: %s", src[i], berth_strerror(errno));
        }
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(tmp[i], i) < 0) berth_fail('5', "dup2 onto fd %d: %s", i, berth_strerror(errno));
        close(tmp[i]);
    }
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {  // before Linux 5.11
        struct rlimit rl;
        int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1 << 20) ? (int)rl.rlim_cur : 1 << 20;
        for (int fd = 3; fd < max; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

// ---------------------------------------------------------------------------------------------------------
// execve with Go's (Docker's) error wording. Our own PATH search: execvp would take PATH from the shim's
// environment, not from the container's.

__attribute__((noreturn)) static void berth_exec_fail(const char *file, int err) {
    berth_fail(err == EACCES || err == EISDIR || err == ENOEXEC ? '6' : '5', "exec: \"%s\": %s", file,
               berth_strerror(err));
}

__attribute__((noreturn)) static void berth_exec(const char *const *argv, char *const *envp) {
    const char *file = argv != NULL ? argv[0] : NULL;
    if (file == NULL) berth_fail('5', "exec: no command");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);  // the mask survives execve; dispositions are already default
    if (strchr(file, '/') != NULL) {
        execve(file, (char *const *)argv, envp);
        int err = errno;
        struct stat st;
        if ((err == ENOENT || err == ENOTDIR) && stat(file, &st) < 0) {
            berth_fail('7', "exec: \"%s\": stat %s: %s", file, file, berth_strerror(errno));
        }
        if (err == ENOENT || err == ENOTDIR) berth_fail('7', "exec: \"%s\": %s", file, berth_strerror(err));
        berth_exec_fail(file, err);
    }
    const char *path = NULL;
    for (char *const *e = envp; *e != NULL; e++) {
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    }
    if (path == NULL) path = BERTH_DEFAULT_PATH;
    int eacces = 0;
    for (const char *p = path; file[0] != '\0';) {
        const char *end = strchrnul(p, ':');
        char buf[PATH_MAX];
        int dlen = (int)(end - p);  // an empty entry means the current directory
        if (snprintf(buf, sizeof buf, "%.*s/%s", dlen > 0 ? dlen : 1, dlen > 0 ? p : ".", file) < (int)sizeof buf) {
            execve(buf, (char *const *)argv, envp);
            if (errno == EACCES) eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR) berth_exec_fail(file, errno);
        }
        if (*end == '\0') break;
        p = end + 1;
    }
    if (eacces) berth_exec_fail(file, EACCES);
    berth_fail('7', "exec: \"%s\": executable file not found in $PATH", file);
}

// ---------------------------------------------------------------------------------------------------------
// The child.

__attribute__((noreturn)) static void berth_finish_process(const struct berth_container_config *cfg, int devnull,
                                                           int last_cap, int console, int wait_go);

// Keeps the sync fd above stdio, where berth_fail reports through it.
static void berth_keep_sync(int sync) {
    if (sync < 3) {  // keep it clear of the stdio fds
        int high = fcntl(sync, F_DUPFD_CLOEXEC, 3);
        if (high < 0) _exit(1);
        close(sync);
        sync = high;
    }
    berth_sync = sync;
}

// Waits for the shim's go (after it attached the child to the cgroups).
static void berth_wait_go(void) {
    char go;
    ssize_t n;
    do n = read(berth_sync, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);  // the shim died or gave up
}

// exec into a running container: its namespaces (the pid namespace was joined by the clone itself), its
// root, then the same process set-up as its first process. The namespaces are entered while the shim moves
// the process into the container's cgroups; the go comes before anything that lets the process act as the
// container (capabilities dropped, seccomp, execve), so nothing it runs is ever outside the cgroups.
__attribute__((noreturn)) static void berth_exec_child(const struct berth_container_config *cfg, int sync,
                                                       int last_cap) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    berth_keep_sync(sync);
    int types = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP;
    if (setns(cfg->join_pidfd, types) < 0) {
        berth_fail('5', "join the container's namespaces: %s", berth_strerror(errno));
    }
    close(cfg->join_pidfd);
    umask(0);
    if (chdir("/") < 0) berth_fail('5', "chdir /: %s", berth_strerror(errno));
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    berth_finish_process(cfg, devnull, last_cap, 0, 1);
}

__attribute__((noreturn)) static void berth_child(const struct berth_container_config *cfg, int sync, pid_t parent,
                                                  int last_cap) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // In a new PID namespace getppid() is 0 either way; the EOF on the sync socket covers that case.
    if (!(cfg->clone_flags & CLONE_NEWPID) && getppid() != parent) _exit(1);
    berth_keep_sync(sync);
    berth_wait_go();

    if (cfg->join_netns_fd >= 0 && setns(cfg->join_netns_fd, CLONE_NEWNET) < 0) {
        berth_fail('5', "join the network namespace of the other container: %s", berth_strerror(errno));
    }
    umask(0);  // device nodes and directories get exactly the modes asked for
    // The cgroup namespace is unshared only now, after the shim moved us into the container's cgroup,
    // so that cgroup becomes the namespace root.
    if ((cfg->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
        berth_fail('5', "unshare cgroup namespace: %s", berth_strerror(errno));
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);  // fallback for stdio if the rootfs has none
    if (mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) berth_fail('5', "make / private: %s", berth_strerror(errno));

    int hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (hostroot < 0) berth_fail('5', "open /: %s", berth_strerror(errno));
    for (int i = 0; i < cfg->n_root_mounts; i++) {
        const struct berth_mount_entry *m = &cfg->root_mounts[i];
        berth_mount_one(hostroot, m, (m->options & BERTH_MOUNT_MKFILE) ? BERTH_MOUNT_MKFILE : BERTH_MOUNT_MKDIR);
    }
    if (cfg->n_root_mounts == 0) {  // pivot_root needs the new root to be a mount point
        struct berth_mount_entry self = {cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL, 0};
        berth_mount_one(hostroot, &self, 0);
    }
    close(hostroot);

    int rootfd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) berth_fail('5', "open rootfs %s: %s", cfg->rootfs, berth_strerror(errno));
    if (cfg->setup_dev) berth_setup_dev(rootfd, cfg->privileged);
    for (int i = 0; i < cfg->n_mounts; i++) {
        const struct berth_mount_entry *m = &cfg->mounts[i];
        int create = m->options & (BERTH_MOUNT_MKFILE | BERTH_MOUNT_MKDIR);
        berth_mount_one(rootfd, m, (create & BERTH_MOUNT_MKFILE) ? BERTH_MOUNT_MKFILE : create);
    }
    if (cfg->cwd != NULL && cfg->cwd[0] != '\0') {  // created as root, before a read-only remount
        int fd = berth_open_in_root(rootfd, cfg->cwd, BERTH_MOUNT_MKDIR);
        if (fd < 0) berth_fail('5', "mkdir %s: %s", cfg->cwd, berth_strerror(errno));
        close(fd);
    }
    close(rootfd);

    // pivot_root has no libc wrapper. pivot_root(".", ".") stacks the old root on the new one; detaching
    // "." then drops the old root without needing a put_old directory (the runc trick).
    if (chdir(cfg->rootfs) < 0) berth_fail('5', "chdir %s: %s", cfg->rootfs, berth_strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) berth_fail('5', "pivot_root %s: %s", cfg->rootfs, berth_strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) berth_fail('5', "unmount the old root: %s", berth_strerror(errno));
    if (chdir("/") < 0) berth_fail('5', "chdir /: %s", berth_strerror(errno));
    int cnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (cnull >= 0) {
        if (devnull >= 0) close(devnull);
        devnull = cnull;
    }

    if (!cfg->privileged) {
        for (const char *const *p = cfg->masked_paths; p != NULL && *p != NULL; p++) berth_mask_path(*p);
        for (const char *const *p = cfg->readonly_paths; p != NULL && *p != NULL; p++) berth_readonly_path(*p);
    }
    if (cfg->readonly_rootfs && berth_remount("/", MS_RDONLY) < 0) {
        berth_fail('5', "remount / read-only: %s", berth_strerror(errno));
    }
    if (cfg->hostname != NULL && !(cfg->clone_flags & CLONE_NEWUTS)) {  // it would rename the host
        berth_fail('5', "sethostname %s: no new UTS namespace", cfg->hostname);
    }
    if (cfg->hostname != NULL && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0) {
        berth_fail('5', "sethostname %s: %s", cfg->hostname, berth_strerror(errno));
    }
    if (cfg->loopback_up) berth_loopback_up();
    for (int i = 0; i < cfg->n_interfaces; i++) {
        char why[200];
        if (berth_net_configure_inside(&cfg->interfaces[i], why, sizeof why) < 0) {
            berth_fail('5', "network %s: %s", cfg->interfaces[i].name, why);
        }
    }
    berth_finish_process(cfg, devnull, last_cap, 1, 0);
}

// The pseudo-terminal, in the devpts mounted on the container's /dev/pts (reached through /dev/ptmx): the
// slave becomes the controlling terminal of a new session and, for the container's first process, also
// /dev/console; the master goes to the shim over the sync socket. Returns the slave.
static int berth_open_tty(const struct berth_container_config *cfg, const struct berth_user *user, int console) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) berth_fail('5', "open /dev/ptmx: %s", berth_strerror(errno));
    int unlock = 0, n = -1;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) {
        berth_fail('5', "unlock the pseudo-terminal: %s", berth_strerror(errno));
    }
    char name[64];
    snprintf(name, sizeof name, "/dev/pts/%d", n);
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) berth_fail('5', "open %s: %s", name, berth_strerror(errno));
    if (fchown(slave, user->uid, (gid_t)-1) < 0 && errno != EROFS) {
        berth_fail('5', "chown %s: %s", name, berth_strerror(errno));
    }
    if (cfg->tty_rows > 0 && cfg->tty_cols > 0) {
        struct winsize ws = {.ws_row = cfg->tty_rows, .ws_col = cfg->tty_cols};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (setsid() < 0) berth_fail('5', "setsid: %s", berth_strerror(errno));
    if (ioctl(slave, TIOCSCTTY, 0) < 0) berth_fail('5', "set the controlling terminal: %s", berth_strerror(errno));
    if (console && mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) {
        berth_fail('5', "bind %s on /dev/console: %s", name, berth_strerror(errno));
    }
    if (berth_send_fd(berth_sync, master) < 0) berth_fail('5', "pass the terminal to the shim: %s", berth_strerror(errno));
    close(master);
    return slave;
}

// Everything from the rlimits to execve, shared by a container's first process and an exec'd one.
__attribute__((noreturn)) static void berth_finish_process(const struct berth_container_config *cfg, int devnull,
                                                           int last_cap, int console, int wait_go) {
    for (int i = 0; i < cfg->n_rlimits; i++) berth_set_rlimit(&cfg->rlimits[i]);

    static struct berth_user user;
    berth_resolve_user(cfg->user, &user);
    int stdio[3] = {cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd};
    if (cfg->tty) stdio[0] = stdio[1] = stdio[2] = berth_open_tty(cfg, &user, console);
    size_t n_env = 0;
    int has_home = 0;
    for (const char *const *e = cfg->envp; e != NULL && *e != NULL; e++, n_env++) {
        if (strncmp(*e, "HOME=", 5) == 0) has_home = 1;
    }
    char **envp = malloc((n_env + 2) * sizeof *envp);
    static char home[PATH_MAX + 8];
    if (envp == NULL) berth_fail('5', "environment: %s", berth_strerror(ENOMEM));
    for (size_t i = 0; i < n_env; i++) envp[i] = (char *)cfg->envp[i];
    if (cfg->set_home && !has_home) {
        snprintf(home, sizeof home, "HOME=%s", user.home);
        envp[n_env++] = home;
    }
    envp[n_env] = NULL;

    if (wait_go) berth_wait_go();
    for (int cap = 0; cap <= last_cap; cap++) {
        if ((cfg->capabilities >> cap) & 1) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            berth_fail('5', "drop capability %d from the bounding set: %s", cap, berth_strerror(errno));
        }
    }
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the user switch below removes.
    if (!cfg->no_new_privs) berth_load_seccomp(cfg);
    // Raw syscalls: glibc's setgroups/setres[ug]id wrappers would try to signal the shim's other threads
    // (there are none here, and this fork-like child is not known to glibc's thread list anyway).
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) berth_fail('5', "clear keepcaps: %s", berth_strerror(errno));
    if (syscall(SYS_setgroups, (size_t)user.n_groups, user.groups) < 0) {
        berth_fail('5', "setgroups: %s", berth_strerror(errno));
    }
    if (syscall(SYS_setresgid, user.gid, user.gid, user.gid) < 0) {
        berth_fail('5', "setresgid %u: %s", (unsigned)user.gid, berth_strerror(errno));
    }
    if (syscall(SYS_setresuid, user.uid, user.uid, user.uid) < 0) {
        berth_fail('5', "setresuid %u: %s", (unsigned)user.uid, berth_strerror(errno));
    }
    uint64_t known = last_cap >= 63 ? ~(uint64_t)0 : ((uint64_t)1 << (last_cap + 1)) - 1;
    berth_set_caps(user.uid == 0 ? cfg->capabilities & known : 0);  // a non-root user keeps none, like Docker
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        berth_fail('5', "clear ambient capabilities: %s", berth_strerror(errno));
    }
    if (cfg->cwd != NULL && cfg->cwd[0] != '\0' && chdir(cfg->cwd) < 0) {
        berth_fail('5', "chdir to cwd (\"%s\"): %s", cfg->cwd, berth_strerror(errno));
    }

    berth_setup_stdio(stdio, devnull);
    // Raw rt_sigaction: glibc's sigaction refuses signals 32 and 33 (its internal ones), which stay
    // SIG_IGN when the shim was started by posix_spawn. A zeroed kernel sigaction is SIG_DFL on every arch.
    for (int sig = 1; sig < 65; sig++) {
        unsigned long ksa[4] = {0, 0, 0, 0};  // handler, flags, restorer, mask
        syscall(SYS_rt_sigaction, sig, ksa, NULL, 8);  // SIGKILL/SIGSTOP fail: fine
    }
    // The kernel clears PDEATHSIG when the uid or gid changes, so it is set again if it must stay.
    prctl(PR_SET_PDEATHSIG, cfg->keep_pdeathsig ? SIGKILL : 0, 0, 0, 0);
    umask(022);  // Docker's default for the container process
    if (cfg->no_new_privs) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) berth_fail('5', "set no_new_privs: %s", berth_strerror(errno));
        berth_load_seccomp(cfg);
    }
    berth_exec(cfg->argv, envp);
}

// ---------------------------------------------------------------------------------------------------------
// Public API.

int berth_container_start(const struct berth_container_config *cfg, struct berth_container *out) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    int last_cap = berth_cap_last_cap();
    // Block every signal across the clone: the child must not run the shim's handlers before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    int pidfd = -1;
    uint64_t flags = (uint64_t)(cfg->clone_flags | CLONE_NEWNS) & ~(uint64_t)CLONE_NEWCGROUP;
    if (cfg->join_pidfd >= 0) {
        // exec: the child is born in the container's pid namespace; it joins the others itself.
        if (setns(cfg->join_pidfd, CLONE_NEWPID) < 0) {
            int err = errno;
            sigprocmask(SIG_SETMASK, &old, NULL);
            close(sv[0]);
            close(sv[1]);
            return -err;
        }
        flags = 0;
    }
    struct berth_clone_args args = {.flags = flags | CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd,
                                    .exit_signal = SIGCHLD};
    // clone3 (no libc wrapper) with no stack behaves like fork and returns a pidfd atomically.
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0 && errno == ENOSYS) {  // Linux < 5.3, or a seccomp profile (Docker's) hiding clone3
        pidfd = -1;
        pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
    }
    if (pid == 0) {
        close(sv[0]);
        if (cfg->join_pidfd >= 0) berth_exec_child(cfg, sv[1], last_cap);
        berth_child(cfg, sv[1], parent, last_cap);
    }
    int err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -err;
    }
    if (pidfd < 0) pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);  // -1 on kernels without pidfds
    out->pid = (pid_t)pid;
    out->pidfd = pidfd;
    out->sync_fd = sv[0];
    return 0;
}

int berth_container_pending_error(int sync_fd, char *err, size_t err_len) {
    char buf[4096];
    ssize_t n;
    for (;;) {  // a terminal's master ('F') may come first; any fd with it is closed by the kernel with the skb
        do n = recv(sync_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n == 1 && buf[0] == 'F') continue;
        break;
    }
    if (n <= 1) return 0;
    buf[n] = '\0';
    if (err != NULL && err_len > 0) snprintf(err, err_len, "%s", buf + 1);
    return buf[0] == '7' ? 127 : buf[0] == '6' ? 126 : 125;
}

int berth_container_resume(int sync_fd, int *pty_master, char *err, size_t err_len) {
    char buf[4096], go = 'g';
    ssize_t n;
    if (err != NULL && err_len > 0) err[0] = '\0';
    if (pty_master != NULL) *pty_master = -1;
    do n = send(sync_fd, &go, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    int send_err = n < 0 ? errno : 0;
    if (send_err != 0) {
        // An exec'd child works before the go and may have failed already: its message is still queued.
        int cls = berth_container_pending_error(sync_fd, err, err_len);
        if (cls != 0) return cls;
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "container process exited before setup: %s", berth_strerror(send_err));
        }
        return 125;
    }
    // The child's end is CLOEXEC: EOF means execve succeeded (or the child died; the caller reaps it). Before
    // that, a tty's master may arrive ('F' with the fd).
    for (;;) {
        union {
            struct cmsghdr hdr;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
        do n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        int fd = -1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n > 0 && cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        }
        if (n == 1 && buf[0] == 'F' && fd >= 0) {
            if (pty_master != NULL && *pty_master < 0) *pty_master = fd;
            else close(fd);
            continue;
        }
        if (fd >= 0) close(fd);
        break;
    }
    if (n == 0) return 0;
    if (n < 0) {
        int e = errno;
        // An exec'd child that failed before reading its go closes with the go unread: the kernel reports
        // ECONNRESET first, and its message is still queued behind it.
        int cls = berth_container_pending_error(sync_fd, err, err_len);
        if (cls != 0) return cls;
        if (err != NULL && err_len > 0) snprintf(err, err_len, "read sync socket: %s", berth_strerror(e));
        return 125;
    }
    buf[n] = '\0';
    if (err != NULL && err_len > 0) snprintf(err, err_len, "%s", buf + 1);
    return buf[0] == '7' ? 127 : buf[0] == '6' ? 126 : 125;
}
