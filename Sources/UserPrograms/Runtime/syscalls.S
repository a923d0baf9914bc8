/*
 * syscalls.S — one wrapper per system call: number in x8, svc #0, result in
 * x0. Arguments already sit in x0-x2 by the AAPCS64 calling convention.
 */
#include "../../KernelABI/include/mm_syscalls.h"

/* Call-frame information (in .debug_frame, nothing allocated): each wrapper
 * is a leaf whose return address stays in x30, so a debugger's backtrace from
 * the svc goes on into the Swift caller instead of guessing from x29. */
    .cfi_sections .debug_frame

.macro syscall name, number
    .section .text.\name, "ax"
    .global \name
    .type \name, %function
\name:
    .cfi_startproc
    mov     x8, #\number
    svc     #0
    ret
    .cfi_endproc
    .size \name, . - \name
.endm

    syscall mm_sys_write,      MM_SYS_WRITE
    syscall mm_sys_getpid,     MM_SYS_GETPID
    syscall mm_sys_fork,       MM_SYS_FORK
    syscall mm_sys_exit,       MM_SYS_EXIT
    syscall mm_sys_wait,       MM_SYS_WAIT
    syscall mm_sys_brk,        MM_SYS_BRK
    syscall mm_sys_yield,      MM_SYS_YIELD
    syscall mm_sys_sleep,      MM_SYS_SLEEP
    syscall mm_sys_free_pages, MM_SYS_FREE_PAGES
    syscall mm_sys_pool_limit, MM_SYS_POOL_LIMIT
    syscall mm_sys_cpus, MM_SYS_CPUS

    .section .text.mm_syscall3, "ax"
    .global mm_syscall3
    .type mm_syscall3, %function
mm_syscall3:
    .cfi_startproc
    mov     x8, x0
    mov     x0, x1
    mov     x1, x2
    mov     x2, x3
    svc     #0
    ret
    .cfi_endproc
    .size mm_syscall3, . - mm_syscall3
