/*
 * faults.S — EL0 actions that must fault at one precise instruction. In
 * Swift the optimizer may move, merge or drop such accesses; here the
 * faulting instruction is exactly the one named. Each provoker is expected
 * to kill its task, so what follows it only runs if the kernel failed to.
 */
#include "../../KernelABI/include/mm_syscalls.h"

/* Call-frame information in .debug_frame (nothing allocated): every
 * function here is a leaf with its return address in x30 and the CFA at sp
 * (the default rules), so a debugger's backtrace from a fault goes on into
 * the Swift caller. user_overflow_stack moves sp for ever: it gets none (a
 * debugger falls back to x29 there). */
    .cfi_sections .debug_frame
.macro func name
    .section .text.\name, "ax"
    .global \name
    .type \name, %function
\name:
    .cfi_startproc
.endm
.macro endfunc name
    .cfi_endproc
    .size \name, . - \name
.endm
.macro func_nocfi name
    .section .text.\name, "ax"
    .global \name
    .type \name, %function
\name:
.endm

func user_store_u64
    str     x1, [x0]
    ret
    endfunc user_store_u64

func user_load_u64
    ldr     x0, [x0]
    ret
    endfunc user_load_u64

func user_jump_to
    br      x0
    endfunc user_jump_to

func user_undefined_instruction
    udf     #0
    ret
    endfunc user_undefined_instruction

/* The kernel leaves FP/SIMD trapped (CPACR_EL1.FPEN = 0): EC 0x07. The
 * .arch_extension lets this one file use FP although user code is built
 * with general registers only. */
    .arch_extension fp
func user_floating_point_instruction
    fmov    d0, xzr
    ret
    endfunc user_floating_point_instruction

/* CNTKCTL_EL1.EL0PTEN = 0: EL0 access to the physical timer traps (EC 0x18). */
func user_read_physical_timer_control
    mrs     x0, cntp_ctl_el0
    ret
    endfunc user_read_physical_timer_control

/* Walks sp down one page at a time, storing to each page: demand paging
 * maps [STACK_LOW, STACK_TOP); the first store into the guard below it must
 * end in "[KERN] stack overflow". */
func_nocfi user_overflow_stack
0:  sub     sp, sp, #4096
    str     xzr, [sp]
    b       0b
    .size user_overflow_stack, . - user_overflow_stack

/* x0 = pages. Writes a per-page pattern to each of the `pages` pages below
 * sp, reads them all back, restores sp; returns 0 if all matched. */
func user_touch_stack_pages
    mov     x3, sp
    mov     x6, #0x5a5a
    mov     x1, x0                  /* pages left to write */
    mov     x2, x3
1:  cbz     x1, 2f
    sub     x2, x2, #4096
    eor     x4, x2, x6
    str     x4, [x2]
    sub     x1, x1, #1
    b       1b
2:  mov     x1, x0
    mov     x2, x3
    mov     x0, #0
3:  cbz     x1, 4f
    sub     x2, x2, #4096
    ldr     x4, [x2]
    eor     x5, x2, x6
    cmp     x4, x5
    cinc    x0, x0, ne
    sub     x1, x1, #1
    b       3b
4:  ret
    endfunc user_touch_stack_pages

func user_counter
    isb
    mrs     x0, cntvct_el0
    ret
    endfunc user_counter

func user_counter_frequency
    mrs     x0, cntfrq_el0
    ret
    endfunc user_counter_frequency
