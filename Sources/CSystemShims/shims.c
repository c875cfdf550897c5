// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>
#include "CSystemShims.h"

int audiocap_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int audiocap_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }
int audiocap_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
int audiocap_pipe_available(int fd) {
    int available = 0;
    return ioctl(fd, FIONREAD, &available) == 0 ? available : -1;
}

int audiocap_clock_synchronized(void) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = adjtimex(&tx);
    if (state == -1) return -1;
    return (state == TIME_ERROR || (tx.status & STA_UNSYNC)) ? 0 : 1;
}

int audiocap_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int audiocap_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#if defined(__GLIBC__)
#include <malloc.h>
int audiocap_limit_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
#else
int audiocap_limit_malloc_arenas(int arenas) { (void)arenas; return 0; }
#endif
