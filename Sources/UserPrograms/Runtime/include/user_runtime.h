/*
 * user_runtime.h — what an EL0 program of the mmdbg kernel can call:
 * system-call wrappers (syscalls.S), fault provokers that must be precise
 * and are therefore assembly (faults.S), and a few EL0-readable registers.
 *
 * Imported by the Embedded Swift user programs as module `UserRuntime`.
 */
#ifndef MMDBG_USER_RUNTIME_H
#define MMDBG_USER_RUNTIME_H

#include <stdint.h>
#include "../../../KernelABI/include/kernel_abi.h"
#include "../../../KernelABI/include/mm_syscalls.h"

/* ---- System calls (svc #0, number in x8) -------------------------------- */
int64_t mm_sys_write(int64_t fd, const void *buf, uint64_t len);
int64_t mm_sys_getpid(void);
int64_t mm_sys_fork(void);
void    mm_sys_exit(int64_t code) __attribute__((noreturn));
int64_t mm_sys_wait(int64_t *status);
int64_t mm_sys_brk(uint64_t addr);
int64_t mm_sys_yield(void);
int64_t mm_sys_sleep(uint64_t ticks);
int64_t mm_sys_free_pages(void);
int64_t mm_sys_pool_limit(uint64_t pages);
int64_t mm_sys_cpus(void);
/* Raw form for tests of the syscall entry itself (e.g. a bad number). */
int64_t mm_syscall3(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);

/* ---- Fault provokers: each is expected to kill the calling task --------- */
void user_store_u64(uint64_t address, uint64_t value);   /* str */
uint64_t user_load_u64(uint64_t address);                /* ldr */
void user_jump_to(uint64_t address);                     /* br  */
void user_undefined_instruction(void);                   /* udf #0 */
void user_floating_point_instruction(void);              /* fmov d0, xzr (FP trapped) */
void user_read_physical_timer_control(void);             /* mrs cntp_ctl_el0 (trapped) */
void user_overflow_stack(void);                          /* touch pages below sp forever */

/* ---- Stack demand paging: write then verify `pages` pages below sp. ----- */
/* Returns 0 when every page read back what was written. */
int64_t user_touch_stack_pages(uint64_t pages);

/* ---- EL0-readable generic timer (CNTKCTL_EL1.EL0VCTEN is set) ------------ */
uint64_t user_counter(void);          /* CNTVCT_EL0 */
uint64_t user_counter_frequency(void); /* CNTFRQ_EL0 */

/* ---- Line buffer for output (libc.c) ----------------------------------- */
#define USER_LINE_CAPACITY 192
extern char user_line_buffer[USER_LINE_CAPACITY];
static inline char *user_line_base(void) { return user_line_buffer; }

#endif
