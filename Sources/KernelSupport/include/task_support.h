/*
 * task_support.h — the hardware side of tasks, interrupts and the context
 * switch (task_switch.S, task_support.c). Like kernel_support.h, every
 * primitive is real on bare-metal AArch64 and inert on the host.
 */
#ifndef MMDBG_TASK_SUPPORT_H
#define MMDBG_TASK_SUPPORT_H

#include <stdint.h>
#include "../../KernelABI/include/kernel_abi.h"
#include "../../KernelABI/include/mm_syscalls.h"

/* The task table as a plain pointer (Swift imports mm_tasks[] as a tuple). */
extern struct mm_task mm_tasks[MM_NR_TASKS];
static inline struct mm_task *mm_task_table(void) { return mm_tasks; }

/* One kernel stack per task slot (static, so a debugger finds them by
 * symbol and no page-pool traffic depends on the number of tasks). A task
 * entering from EL0 saves its mm_trap_frame at the top of its stack. */
#define MM_KERNEL_STACK_SIZE 16384
uint64_t mm_task_kernel_stack_base(uint32_t slot);   /* KVA of the lowest byte */
/* The idle task (slot 0, the boot context) runs on boot.S's stack. */
uint64_t mm_boot_stack_base(void);

/* cpu_switch_to(prev, next): saves prev's callee-saved registers, sp and
 * return address in prev->context and resumes next from next->context. */
void cpu_switch_to(struct mm_task *prev, struct mm_task *next);
/* Where a new task's first switch lands: it returns to EL0 through the
 * trap frame at its sp (vectors.S exception_return). */
uint64_t mm_ret_from_fork_address(void);

/* A level-0 table with no valid entry: TTBR0 of the idle task. */
uint64_t mm_empty_user_pgd_pa(void);

/* Kernel bounce buffer for system calls that copy from user memory. The
 * kernel is not preemptible (IRQs stay masked at EL1), so one suffices. */
#define MM_SYSCALL_BOUNCE_SIZE 256
uint8_t *mm_syscall_bounce(void);

/* The embedded EL0 program images (user_images.S). */
uint64_t mm_user_image_init_start_address(void);
uint64_t mm_user_image_init_end_address(void);

/* ---- Interrupt masking, idle --------------------------------------------- */
void mm_irq_enable(void);
void mm_irq_disable(void);
/* Unmasks IRQs, waits for one (taken here), masks them again. */
void mm_wait_for_interrupt(void);

/* ---- EL1 virtual timer (CNTV, PPI 27 on -M virt) -------------------------- */
uint64_t mm_timer_frequency(void);          /* CNTFRQ_EL0 */
uint64_t mm_timer_counter(void);            /* CNTVCT_EL0 */
void mm_timer_arm(uint64_t ticks_from_now); /* CNTV_TVAL_EL0 = n; enabled only while IRQs are unmasked */
/* CNTKCTL_EL1.EL0VCTEN: EL0 may read CNTVCT_EL0/CNTFRQ_EL0 (preemption test). */
void mm_timer_allow_el0_counter(void);

/* ---- MMIO (GICv2 through the kernel's device mapping) --------------------- */
uint32_t mm_mmio_read32(uint64_t kva);
void mm_mmio_write32(uint64_t kva, uint32_t value);

#endif
