// berth_spawn: start a host process from the multi-threaded daemon.
//
// Why C: Swift code must never run between fork and exec in a threaded process (it can allocate or take
// runtime locks), and Swift cannot see posix_spawn_file_actions_addclosefrom_np or POSIX_SPAWN_SETSID
// without _GNU_SOURCE. posix_spawn runs only libc code in the child.
#define _GNU_SOURCE
#include "CBerthLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

pid_t berth_spawn(const char *path, const char *const *argv, const char *const *envp, const int *fds, int n_fds) {
    if (n_fds < 0 || (n_fds > 0 && fds == NULL)) return -EINVAL;
    // Copy every source fd above the target range first, so that dup2(fds[i], i) can never clobber a
    // source that is itself one of the targets (e.g. fds = {1, 0}). The copies are CLOEXEC.
    int *tmp = calloc(n_fds > 0 ? (size_t)n_fds : 1, sizeof(int));
    if (tmp == NULL) return -ENOMEM;
    int floor = n_fds > 3 ? n_fds : 3;
    int err = 0;
    for (int i = 0; i < n_fds; i++) tmp[i] = -1;
    for (int i = 0; i < n_fds; i++) {
        if (fds[i] >= 0 && (tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, floor)) < 0) {
            err = errno;
            break;
        }
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int have_fa = 0, have_attr = 0;
    if (err == 0 && (err = posix_spawn_file_actions_init(&fa)) == 0) have_fa = 1;
    if (err == 0 && (err = posix_spawnattr_init(&attr)) == 0) have_attr = 1;
    for (int i = 0; err == 0 && i < n_fds; i++) {
        if (tmp[i] >= 0) {
            err = posix_spawn_file_actions_adddup2(&fa, tmp[i], i);
        } else if (i <= 2) {
            err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
        } else {
            err = posix_spawn_file_actions_addclose(&fa, i);  // EBADF in the child is ignored by glibc
        }
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Everything above the mapped range is closed, even fds another thread opened without O_CLOEXEC.
    if (err == 0) err = posix_spawn_file_actions_addclosefrom_np(&fa, n_fds);
#endif
    // SETSIGDEF resets every signal; glibc itself leaves its internal signals 32 and 33 ignored in the child.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (err == 0) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
    if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);

    pid_t pid = -1;
    if (err == 0) err = posix_spawn(&pid, path, have_fa ? &fa : NULL, have_attr ? &attr : NULL, (char *const *)argv,
                                    (char *const *)envp);

    if (have_fa) posix_spawn_file_actions_destroy(&fa);
    if (have_attr) posix_spawnattr_destroy(&attr);
    for (int i = 0; i < n_fds; i++) {
        if (tmp[i] >= 0) close(tmp[i]);
    }
    free(tmp);
    return err != 0 ? -err : pid;
}

// A thread of its own waits for the child: a shim that stays the daemon's child (an exec's) can run for
// hours, which must not hold a thread of the daemon's pool. The thread has a small stack and is detached.
static void *berth_reaper(void *arg) {
    pid_t pid = (pid_t)(intptr_t)arg;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return NULL;
}

int berth_reap_in_background(pid_t pid) {
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err != 0) return -err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t thread;
    err = pthread_create(&thread, &attr, berth_reaper, (void *)(intptr_t)pid);
    pthread_attr_destroy(&attr);
    return -err;
}
