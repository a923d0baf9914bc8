#define _GNU_SOURCE
#include "process_memory.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

ssize_t mmdbg_read_process_memory(pid_t pid, const mmdbg_remote_piece *pieces, size_t count) {
    struct iovec local[IOV_MAX], remote[IOV_MAX];
    ssize_t total = 0;
    size_t next = 0;      // first piece not yet fully read
    size_t done = 0;      // bytes of pieces[next] already read
    for (;;) {
        while (next < count && pieces[next].length == done) { next++; done = 0; }
        if (next >= count) break;
        size_t n = 0;
        for (size_t i = next; i < count && n < IOV_MAX; i++, n++) {
            size_t skip = i == next ? done : 0;
            local[n].iov_base = (char *)pieces[i].local + skip;
            local[n].iov_len = pieces[i].length - skip;
            remote[n].iov_base = (void *)(uintptr_t)(pieces[i].remote_address + skip);
            remote[n].iov_len = pieces[i].length - skip;
        }
        ssize_t got = process_vm_readv(pid, local, n, remote, n, 0);
        if (got < 0) return -1;
        if (got == 0) { errno = EFAULT; return -1; }
        total += got;
        // Advance over what was copied; a partial transfer stops at a piece boundary
        // or inside one piece, and the next call resumes exactly there.
        size_t left = (size_t)got;
        while (left > 0 && next < count) {
            size_t remaining = pieces[next].length - done;
            if (left >= remaining) { left -= remaining; next++; done = 0; }
            else { done += left; left = 0; }
        }
    }
    return total;
}

int mmdbg_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int mmdbg_pidfd_exited(int pidfd) {
    struct pollfd entry = { .fd = pidfd, .events = POLLIN };
    int ready = poll(&entry, 1, 0);
    if (ready < 0) return -1;
    if (ready == 0) return 0;
    if (entry.revents & POLLNVAL) { errno = EBADF; return -1; }
    return 1;
}
