/* Hardware side of tasks, interrupts and the context switch. See task_support.h. */
#include "task_support.h"
#include "kernel_support.h"

/* Kernel stacks, one per task slot; slot 0 (idle) uses the boot stack but
 * keeps its slot so indices match mm_tasks[]. */
static uint8_t mm_kernel_stacks[MM_NR_TASKS][MM_KERNEL_STACK_SIZE] __attribute__((aligned(4096)));
uint64_t mm_task_kernel_stack_base(uint32_t slot) { return (uint64_t)(uintptr_t)mm_kernel_stacks[slot]; }

static uint64_t mm_empty_user_pgd[512] __attribute__((aligned(4096)));
uint64_t mm_empty_user_pgd_pa(void) {
    return (uint64_t)(uintptr_t)mm_empty_user_pgd - (MM_BARE_METAL ? MM_LINEAR_MAP_BASE : 0);
}

static uint8_t mm_syscall_bounce_buffer[MM_SYSCALL_BOUNCE_SIZE];
uint8_t *mm_syscall_bounce(void) { return mm_syscall_bounce_buffer; }

#if MM_BARE_METAL
extern char mm_user_image_init_start[], mm_user_image_init_end[];
uint64_t mm_user_image_init_start_address(void) { return (uint64_t)mm_user_image_init_start; }
uint64_t mm_user_image_init_end_address(void) { return (uint64_t)mm_user_image_init_end; }

extern char ret_from_fork[];
extern char boot_stack_bottom[];
uint64_t mm_boot_stack_base(void) { return (uint64_t)boot_stack_bottom; }
uint64_t mm_ret_from_fork_address(void) { return (uint64_t)ret_from_fork; }

void mm_irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
void mm_irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
/*
 * The timer runs only while IRQs are unmasked (EL0, this wait); kernel code,
 * which runs with IRQs masked, sees it disabled with CNTV_CVAL kept, and it is
 * switched back on before IRQs are unmasked (here, and in exception_return),
 * so the interrupt is taken at the same instruction as if it had stayed on.
 * (Per CPU: mm_cpu.timer_armed, read through TPIDR_EL1.)
 * Why: under `-icount sleep=off` QEMU 7.2 counts a vCPU stopped at a gdbstub
 * breakpoint as idle and warps guest time to the next timer deadline (the
 * tick fires early), or, when the timer has expired but the IRQ is still
 * masked, by ~INT64_MAX, which overflows the clock and livelocks QEMU. With no
 * timer armed at a kernel stop there is nothing to warp to (see
 * docs/fault-injection-determinism.md).
 */
void mm_wait_for_interrupt(void) {
    __asm__ volatile("msr cntv_ctl_el0, %0\n msr daifclr, #2\n wfi\n isb\n msr daifset, #2\n msr cntv_ctl_el0, xzr\n isb"
                     :: "r"(mm_this_cpu()->timer_armed) : "memory");
}

uint64_t mm_timer_frequency(void) { uint64_t v; __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v)); return v; }
uint64_t mm_timer_counter(void) { uint64_t v; __asm__ volatile("isb\n mrs %0, cntvct_el0" : "=r"(v)); return v; }
void mm_timer_arm(uint64_t ticks) {
    /* CVAL = now + ticks; stays disabled until IRQs are unmasked (above). */
    __asm__ volatile("msr cntv_tval_el0, %0\n msr cntv_ctl_el0, xzr\n isb" :: "r"(ticks) : "memory");
    mm_this_cpu()->timer_armed = 1;
}
void mm_timer_allow_el0_counter(void) {
    uint64_t v;
    __asm__ volatile("mrs %0, cntkctl_el1" : "=r"(v));
    v |= 1ULL << 1; /* EL0VCTEN */
    __asm__ volatile("msr cntkctl_el1, %0\n isb" :: "r"(v) : "memory");
}

uint32_t mm_mmio_read32(uint64_t kva) { return *(volatile uint32_t *)(uintptr_t)kva; }
void mm_mmio_write32(uint64_t kva, uint32_t value) { *(volatile uint32_t *)(uintptr_t)kva = value; }

#else /* host: inert */
uint64_t mm_user_image_init_start_address(void) { return 0; }
uint64_t mm_user_image_init_end_address(void) { return 0; }
void cpu_switch_to(struct mm_task *prev, struct mm_task *next) { (void)prev; (void)next; __builtin_trap(); }
uint64_t mm_ret_from_fork_address(void) { return 0; }
uint64_t mm_boot_stack_base(void) { return 0; }
void mm_irq_enable(void) { }
void mm_irq_disable(void) { }
void mm_wait_for_interrupt(void) { }
uint64_t mm_timer_frequency(void) { return 0; }
uint64_t mm_timer_counter(void) { return 0; }
void mm_timer_arm(uint64_t ticks) { (void)ticks; }
void mm_timer_allow_el0_counter(void) { }
uint32_t mm_mmio_read32(uint64_t kva) { (void)kva; return 0; }
void mm_mmio_write32(uint64_t kva, uint32_t value) { (void)kva; (void)value; }
#endif
