/*
 * task_switch.S — cpu_switch_to and the first return of a new task to EL0.
 *
 * struct mm_cpu_context (kernel_abi.h) sits at offset 0 of struct mm_task:
 *   x19..x28 at 0..72, fp (x29) at 80, sp at 88, pc (x30) at 96.
 */
#if defined(__aarch64__) && !defined(__linux__) && !defined(__APPLE__)

    .section .text.cpu_switch_to, "ax"
    .global cpu_switch_to
    .type cpu_switch_to, %function
cpu_switch_to:
    mov     x10, sp
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x10, [x0, #80]
    str     x30, [x0, #96]
    ldp     x19, x20, [x1, #0]
    ldp     x21, x22, [x1, #16]
    ldp     x23, x24, [x1, #32]
    ldp     x25, x26, [x1, #48]
    ldp     x27, x28, [x1, #64]
    ldp     x29, x10, [x1, #80]
    ldr     x30, [x1, #96]
    mov     sp, x10
    ret
    .size cpu_switch_to, . - cpu_switch_to

/* A new task (init, or a fork child) is first switched to here, with sp at
 * its trap frame: drop the kernel lock the switching CPU held and leave
 * through the common exception return. */
    .section .text.ret_from_fork, "ax"
    .global ret_from_fork
    .type ret_from_fork, %function
ret_from_fork:
    bl      mm_kernel_unlock        /* the switch to here happened under the kernel lock */
    b       exception_return
    .size ret_from_fork, . - ret_from_fork

#endif
