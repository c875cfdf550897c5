// Linux calls that Swift's Glibc module hides behind _GNU_SOURCE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "CSystemShims.h"

int audiocap_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int audiocap_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }
int audiocap_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
