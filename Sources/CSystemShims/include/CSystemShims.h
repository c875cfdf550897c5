// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE.
#pragma once

/// pipe2(fds, O_CLOEXEC): both ends close on exec, so no child inherits them by accident.
int audiocap_pipe_cloexec(int fds[2]);

/// fcntl(fd, F_SETPIPE_SZ, bytes); returns the new size or -1.
int audiocap_set_pipe_size(int fd, int bytes);

/// fcntl(fd, F_GETPIPE_SZ); returns the size or -1.
int audiocap_get_pipe_size(int fd);
/// Bytes waiting in the pipe `fd` (FIONREAD), or -1.
int audiocap_pipe_available(int fd);

/// Whether the kernel considers the system clock synchronised (adjtimex(2), read only): 1 yes, 0 no
/// (TIME_ERROR or STA_UNSYNC: no NTP client has disciplined it), -1 unknown.
int audiocap_clock_synchronized(void);
/// renameat2(RENAME_NOREPLACE): renames without ever replacing `to`; -1 with errno EEXIST when it exists,
/// EINVAL/ENOSYS where the file system or kernel cannot (then fall back to link + unlink).
int audiocap_rename_noreplace(const char *from, const char *to);

/// pthread_setname_np(pthread_self(), name): the calling thread's name as `top -H` shows it (at most 15
/// bytes; longer names are refused). Returns 0 or an error number.
int audiocap_set_thread_name(const char *name);

/// mallopt(M_ARENA_MAX, arenas) where glibc has it: at most `arenas` malloc arenas for all threads. Returns 1
/// when set, 0 when not (not glibc).
int audiocap_limit_malloc_arenas(int arenas);
