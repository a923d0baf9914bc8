// Linux calls the Swift Glibc module does not export (it is built without
// _GNU_SOURCE): reading another process's memory and process file descriptors.
#ifndef MMDBG_PROCESS_MEMORY_H
#define MMDBG_PROCESS_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// One piece of a scatter read: `length` bytes at `remote_address` in the
/// other process, copied to `local`.
typedef struct mmdbg_remote_piece {
    void *local;
    uint64_t remote_address;
    size_t length;
} mmdbg_remote_piece;

/// process_vm_readv over `count` pieces (any number: split into IOV_MAX
/// batches, short transfers resumed). Returns the bytes copied, or -1 with
/// errno set at the first piece that could not be read completely.
ssize_t mmdbg_read_process_memory(pid_t pid, const mmdbg_remote_piece *pieces, size_t count);

/// pidfd_open(pid, 0): a descriptor that stays bound to this process even if
/// its PID is reused; -1 with errno on failure.
int mmdbg_pidfd_open(pid_t pid);

/// 1 when the process behind `pidfd` has exited (a zombie counts), 0 while it
/// runs, -1 with errno when the descriptor is bad. Never blocks.
int mmdbg_pidfd_exited(int pidfd);

#endif
