/*
 * mm_syscalls.h — the EL0 ↔ kernel system-call ABI, shared by the kernel
 * (Sources/KernelTasks/syscall), the user runtime (Sources/UserPrograms) and the
 * debugger (which may break on sys_* and decode x8).
 *
 * Convention: `svc #0` with the number in x8 and arguments in x0-x2; the
 * result comes back in x0. Every call returns -1 on a bad argument (a bad
 * user pointer included: the kernel copies through the soft path,
 * copy_from_user / copy_to_user, so the task lives).
 *
 * Plain #defines only: this header is also included from assembly.
 */
#ifndef MMDBG_MM_SYSCALLS_H
#define MMDBG_MM_SYSCALLS_H

#define MM_SYS_WRITE       0  /* write(fd, buf, len) -> len | -1          */
#define MM_SYS_GETPID      1  /* getpid() -> pid                          */
#define MM_SYS_FORK        2  /* fork() -> child pid (parent) | 0 (child) | -1 */
#define MM_SYS_EXIT        3  /* exit(code): never returns                */
#define MM_SYS_WAIT        4  /* wait(int64_t *status | 0) -> pid | -1 (no children) */
#define MM_SYS_BRK         5  /* brk(addr | 0) -> new break | -1          */
#define MM_SYS_YIELD       6  /* yield() -> 0                             */
#define MM_SYS_SLEEP       7  /* sleep(ticks) -> 0                        */
#define MM_SYS_FREE_PAGES  8  /* free_pages() -> free pages in the pool   */
#define MM_SYS_POOL_LIMIT  9  /* pool_limit(n): test hook, see below -> 0 */
#define MM_SYS_CPUS       10  /* cpus() -> CPUs online (mm_cpu_count)     */
#define MM_SYS_COUNT       11

/* pool_limit(n), n > 0: from now on at most n more pages may be allocated
 * from the pool (mm_pool.limit = pages in use + n), so a scenario can run
 * the REAL allocator dry; pool_limit(0) lifts the limit. The limit is
 * global: whoever sets it lifts it (init's oompool scenario does). */

/* Timer tick: the scheduler's clock (sleep is counted in ticks). */
#define MM_TICK_HZ         100
/* Time slice of a runnable task before preemption, in ticks. */
#define MM_TIME_SLICE_TICKS 1

/* Exit code the kernel gives a task it kills after an EL0 fault (the
 * `[KERN] <kind> at 0x<hex>` line names the fault). */
#define MM_EXIT_FAULT      (-11)

/* The first user program (init) starts with x0 = user VA of the kernel
 * command line (NUL-terminated, copied to the top of its stack) and
 * x1 = its length. */

#endif
