/*
 * crt0.S — EL0 entry of every user program. The kernel enters at _start with
 * sp = the top of the user stack (16-byte aligned), x0/x1 = program
 * arguments (see mm_syscalls.h), and everything else zero. The program's
 * `user_main(x0, x1)` return value becomes its exit code.
 */
#include "../../KernelABI/include/mm_syscalls.h"

    .cfi_sections .debug_frame

    .section .text._start, "ax"
    .global _start
    .type _start, %function
_start:
    .cfi_startproc
    .cfi_undefined x30              /* the outermost frame: a debugger's backtrace ends here */
    mov     x29, xzr
    mov     x30, xzr
    bl      user_main
    mov     x8, #MM_SYS_EXIT
    svc     #0
0:  b       0b                      /* exit never returns */
    .cfi_endproc
    .size _start, . - _start
