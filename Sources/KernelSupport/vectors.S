/*
 * vectors.S — the EL1 exception vector table.
 *
 * Every entry saves a full struct mm_trap_frame (x0-x30, sp_el0, elr, spsr,
 * the vector kind and ESR_EL1; 288 bytes) on the current kernel stack and calls
 *     void mm_exception(uint64_t kind, struct mm_trap_frame *frame)
 * in Swift; on return the (possibly modified) frame is restored and eret'd.
 * kind = vector index: 0-3 EL1t, 4-7 EL1h, 8-11 EL0 AArch64, 12-15 EL0
 * AArch32; within each group sync=0, irq=1, fiq=2, serror=3.
 */
#if defined(__aarch64__) && !defined(__linux__) && !defined(__APPLE__)

#define FRAME_SIZE 288  /* MM_TRAP_FRAME_SIZE */
#define MM_CPU_TIMER_ARMED_OFFSET 48   /* kernel_abi.h (static-asserted there) */

.macro ventry kind
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       exception_common
.endm

    .section .text.vectors, "ax"
    .balign 2048
    .global exception_vectors
exception_vectors:
    ventry 0
    ventry 1
    ventry 2
    ventry 3
    ventry 4
    ventry 5
    ventry 6
    ventry 7
    ventry 8
    ventry 9
    ventry 10
    ventry 11
    ventry 12
    ventry 13
    ventry 14
    ventry 15

exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, sp_el0
    stp     x30, x1, [sp, #240]
    mrs     x1, elr_el1
    mrs     x2, spsr_el1
    stp     x1, x2, [sp, #256]
    mrs     x1, esr_el1
    stp     x0, x1, [sp, #272]
    /* Kernel code runs with the timer off (task_support.c: mm_cpu.timer_armed).
     * Not for an IRQ: that would drop the timer's level before the GIC
     * acknowledge; the tick handler re-arms it disabled instead. */
    and     x3, x0, #3
    cmp     x3, #1
    b.eq    1f
    msr     cntv_ctl_el0, xzr
1:  mov     x1, sp
    bl      mm_exception
    .global exception_return
exception_return:
    ldp     x1, x2, [sp, #256]
    msr     elr_el1, x1
    msr     spsr_el1, x2
    tbnz    x2, #7, 2f              /* SPSR.I: returning with IRQs masked, timer stays off */
    mrs     x1, tpidr_el1           /* this CPU's mm_cpu */
    ldr     x1, [x1, #MM_CPU_TIMER_ARMED_OFFSET]
    msr     cntv_ctl_el0, x1
2:  ldp     x30, x1, [sp, #240]
    msr     sp_el0, x1
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret

#endif
