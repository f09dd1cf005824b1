// Constants and thin syscall wrappers for Swift.
//
// Why C: Swift's Glibc module is built without _GNU_SOURCE, so CLONE_NEW*, setns, unshare, pipe2,
// pidfd_* and SCM_RIGHTS helpers are invisible; syscall() and prctl() are variadic and cannot be called
// from Swift; major()/minor() and CMSG_* are function-like macros that Swift does not import.
#define _GNU_SOURCE
#include <malloc.h>
#include "CBerthLinux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

// Generic syscall numbers (identical on every architecture Swift supports); older libc headers lack them.
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// CLONE_* and MS_* are hidden (no _GNU_SOURCE) or imported with the wrong type in Swift.
const int BERTH_CLONE_NEWNS = CLONE_NEWNS;
const int BERTH_CLONE_NEWUTS = CLONE_NEWUTS;
const int BERTH_CLONE_NEWIPC = CLONE_NEWIPC;
const int BERTH_CLONE_NEWPID = CLONE_NEWPID;
const int BERTH_CLONE_NEWNET = CLONE_NEWNET;
const int BERTH_CLONE_NEWCGROUP = CLONE_NEWCGROUP;

const unsigned long BERTH_MS_RDONLY = MS_RDONLY;
const unsigned long BERTH_MS_NOSUID = MS_NOSUID;
const unsigned long BERTH_MS_NODEV = MS_NODEV;
const unsigned long BERTH_MS_NOEXEC = MS_NOEXEC;
const unsigned long BERTH_MS_BIND = MS_BIND;
const unsigned long BERTH_MS_REC = MS_REC;
const unsigned long BERTH_MS_PRIVATE = MS_PRIVATE;
const unsigned long BERTH_MS_RELATIME = MS_RELATIME;
const unsigned long BERTH_MS_STRICTATIME = MS_STRICTATIME;

// pidfd_* have glibc wrappers only since 2.36; syscall() is variadic.
int berth_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int berth_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

// prctl() is variadic.
int berth_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int berth_set_pdeathsig(int sig) {
    return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0);
}

// SOCK_CLOEXEC and pipe2 need _GNU_SOURCE.
int berth_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

int berth_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

// setns and unshare are declared only under _GNU_SOURCE.
int berth_setns(int fd, int nstype) {
    return setns(fd, nstype);
}

int berth_unshare(int flags) {
    return unshare(flags);
}

// close_range has no wrapper before glibc 2.34; fall back to walking /proc/self/fd on old kernels.
int berth_close_range_from(int first) {
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return 0;
    if (errno != ENOSYS) return -1;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return -1;
    int self = dirfd(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] != '.' && fd >= first && fd != self) close(fd);
    }
    closedir(dir);
    return 0;
}

// makedev() is a function-like macro.
int berth_mknod_whiteout(const char *path) {
    return mknod(path, S_IFCHR | 0000, makedev(0, 0));
}

// Uses lsetxattr: layer paths are never followed through symlinks (matches berth_lgetxattr).
int berth_setxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

ssize_t berth_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

// major() and minor() are function-like macros.
int berth_makedev_major(uint64_t dev) {
    return (int)major(dev);
}

int berth_makedev_minor(uint64_t dev) {
    return (int)minor(dev);
}

// CMSG_FIRSTHDR/CMSG_DATA/CMSG_SPACE are function-like macros.
int berth_send_fd(int sock, int fd) {
    char byte = 'F';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int berth_recv_fd(int sock) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    int fd = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        }
    }
    if (fd < 0) errno = n == 0 ? ECONNRESET : EBADMSG;
    return fd;
}

// struct statfs's f_type has an arch-dependent type (__fsword_t).
int64_t berth_statfs_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) < 0) return 0;
    return (int64_t)st.f_type;
}

static int64_t berth_clock_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) < 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t berth_realtime_ns(void) {
    return berth_clock_ns(CLOCK_REALTIME);
}

// CLOCK_BOOTTIME: monotonic, counts suspend, and is the clock /proc/PID/stat start times are measured on.
int64_t berth_monotonic_ns(void) {
    return berth_clock_ns(CLOCK_BOOTTIME);
}

uint64_t berth_proc_starttime(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    // The command name (field 2) may contain spaces and ')', so count fields after the last ')'.
    char *p = strrchr(buf, ')');
    if (p == NULL) return 0;
    p++;
    for (int field = 3; field < 22; field++) {  // p is before field 3 (state); skip to field 22
        while (*p == ' ') p++;
        while (*p != ' ' && *p != '\0') p++;
        if (*p == '\0') return 0;
    }
    return strtoull(p, NULL, 10);
}

// malloc_trim lives in <malloc.h>, which Swift's Glibc module does not include.
int berth_malloc_trim(void) { return malloc_trim(0); }
