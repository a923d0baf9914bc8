/*
 * kernel_support.h — the kernel's C-level globals and hardware primitives.
 *
 * The globals live in C so they have stable, unmangled symbol names and C
 * DWARF: these are exactly the symbols a debugger looks up in the ELF
 * (mm_tasks, mm_current, mm_pool, mm_log, mm_layout, mm_tick).
 *
 * The hardware primitives compile to real instructions only for the
 * bare-metal AArch64 build; on the host (where `swift test` compiles every
 * target) they are inert so pure kernel logic can be unit tested.
 */
#ifndef MMDBG_KERNEL_SUPPORT_H
#define MMDBG_KERNEL_SUPPORT_H

#include <stdint.h>
#include <stddef.h>
#include "../../KernelABI/include/kernel_abi.h"

#if defined(__aarch64__) && !defined(__linux__) && !defined(__APPLE__)
#define MM_BARE_METAL 1
#else
#define MM_BARE_METAL 0
#endif

/* ---- Globals a debugger reads ------------------------------------------ */
extern struct mm_task mm_tasks[MM_NR_TASKS];
extern struct mm_task *mm_current;
extern struct mm_page_pool mm_pool;
extern struct mm_log_ring mm_log;
extern const struct mm_layout_record mm_layout;
extern volatile uint64_t mm_tick;
/* Per-CPU state (kernel_abi.h struct mm_cpu); mm_cpu_count CPUs are online
 * or being started. mm_current stays the boot CPU's current task. */
extern struct mm_cpu mm_cpus[MM_MAX_CPUS];
extern uint64_t mm_cpu_count;
static inline struct mm_cpu *mm_cpu_at(uint32_t index) { return &mm_cpus[index]; }
/* This CPU's mm_cpus[] entry (TPIDR_EL1; mm_cpus[0] on the host). */
struct mm_cpu *mm_this_cpu(void);
void mm_set_this_cpu(struct mm_cpu *cpu);
/* The task this CPU runs. On the kernel: mm_this_cpu()->current (the boot
 * CPU also keeps mm_current, which debuggers and the UP views read); on the
 * host (unit tests): mm_current. */
static inline struct mm_task *mm_current_task(void) {
#if MM_BARE_METAL
    return (struct mm_task *)(uintptr_t)mm_this_cpu()->current;
#else
    return mm_current;
#endif
}
static inline void mm_set_current_task(struct mm_task *t) {
    struct mm_cpu *cpu = mm_this_cpu();
    cpu->current = (uint64_t)(uintptr_t)t;
    if (cpu == &mm_cpus[0]) mm_current = t;
}
/* The kernel lock: one lock for everything EL1 does (page pool, task
 * table, address spaces, console), held from exception entry to exception
 * return, and across a context switch (docs/kernel-tasks.md). The word
 * holds the owning CPU's index + 1 (0 = free), for a debugger. */
extern volatile uint32_t mm_kernel_lock_word;
void mm_kernel_lock(void);
void mm_kernel_unlock(void);
/* PSCI CPU_ON (SMC64 function id) through the conduit: 0 = started. */
int64_t mm_psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t context);
/* PA of boot.S's secondary entry. */
uint64_t mm_secondary_entry_pa(void);
/* What a starting secondary reads with its MMU off (cleaned to PoC). */
struct mm_secondary_boot { uint64_t ttbr1; uint64_t stack_top; };
extern struct mm_secondary_boot mm_secondary_boot;
void mm_publish_secondary_boot(uint64_t ttbr1, uint64_t stack_top);
/* mm_cpu.state across CPUs: a starting CPU publishes it, the boot CPU waits for it. */
static inline int64_t mm_cpu_state_load(struct mm_cpu *cpu) { return __atomic_load_n(&cpu->state, __ATOMIC_ACQUIRE); }
static inline void mm_cpu_state_store(struct mm_cpu *cpu, int64_t state) { __atomic_store_n(&cpu->state, state, __ATOMIC_RELEASE); }
/* A spin-wait hint (yield): lets QEMU's round-robin TCG run another vCPU. */
static inline void mm_cpu_relax(void) {
#if MM_BARE_METAL
    __asm__ volatile("yield" ::: "memory");
#endif
}
/* MPIDR_EL1 affinity bits of this CPU. */
uint64_t mm_read_mpidr(void);
/* Which pool pages are free (bit set = on the free list), indexed from
 * mm_pool.base_pa: free_page's double-free check. Kernel-internal, not part
 * of the debugger ABI (the debugger walks the free list). The pool never
 * grows past MM_POOL_MAX_PAGES (4 GiB); RAM beyond that stays unused. */
#define MM_POOL_MAX_PAGES (1u << 20)
uint64_t *mm_pool_free_bitmap(void);   /* MM_POOL_MAX_PAGES / 64 words (Swift cannot import the array) */
/* Physical address of the device tree blob QEMU passed in x0. */
extern uint64_t mm_boot_dtb;
/* Linker-provided image bounds (virtual addresses, page aligned): text is
 * [start, text_end), rodata [text_end, rodata_end), data and bss up to end. */
uint64_t mm_kernel_start_va(void);
uint64_t mm_kernel_end_va(void);
uint64_t mm_kernel_text_end_va(void);
uint64_t mm_kernel_rodata_end_va(void);

/* ---- Array members Swift imports as tuples, as plain element pointers ---- */
static inline uint64_t *mm_task_kernel_pages(struct mm_task *t) { return t->mm.kernel_pages; }
static inline struct mm_user_page *mm_task_user_pages(struct mm_task *t) { return t->mm.user_pages; }

/* ---- kernel_abi.h's marker strings as C strings ----------------------------
 * Swift imports string macros as String, which Embedded Swift can only walk
 * through the runtime's foreign-string path (a trap). Console.write(cString:)
 * prints these instead; the text itself stays defined once, in kernel_abi.h. */
static inline const char *mm_text_mark_oom(void) { return MM_MARK_OOM; }
static inline const char *mm_text_mark_stack_overflow(void) { return MM_MARK_STACK_OVERFLOW; }
static inline const char *mm_text_mark_text_fault(void) { return MM_MARK_TEXT_FAULT; }
static inline const char *mm_text_mark_invalid_uva(void) { return MM_MARK_INVALID_UVA; }
static inline const char *mm_text_mark_perm_fault(void) { return MM_MARK_PERM_FAULT; }
static inline const char *mm_text_mark_exec_fault(void) { return MM_MARK_EXEC_FAULT; }
static inline const char *mm_text_mark_el0_sync(void) { return MM_MARK_EL0_SYNC; }
static inline const char *mm_text_boot_mmu_on(void) { return MM_BOOT_MMU_ON; }
static inline const char *mm_text_boot_dtb(void) { return MM_BOOT_DTB; }
static inline const char *mm_text_boot_page_pool(void) { return MM_BOOT_PAGE_POOL; }
static inline const char *mm_text_boot_linear_map_ok(void) { return MM_BOOT_LINEAR_MAP_OK; }
static inline const char *mm_text_boot_free_pages(void) { return MM_BOOT_FREE_PAGES; }
static inline const char *mm_text_boot_mm_self_test(void) { return MM_BOOT_MM_SELF_TEST; }
static inline const char *mm_text_boot_power_off(void) { return MM_BOOT_POWER_OFF; }
static inline const char *mm_text_panic(void) { return MM_PANIC; }

/* ---- Hardware primitives (no-ops on the host) -------------------------- */
void mm_uart_putc(uint8_t c);
/* PSCI SYSTEM_OFF through the conduit the device tree names (/psci method):
 * hvc unless mm_psci_use_smc was set during boot. */
extern uint64_t mm_psci_use_smc;
void mm_psci_system_off(void) __attribute__((noreturn));
uint64_t mm_read_sctlr(void);
uint64_t mm_read_ttbr0(void);
uint64_t mm_read_ttbr1(void);
uint64_t mm_read_tcr(void);
uint64_t mm_read_mair(void);
uint64_t mm_read_esr(void);
uint64_t mm_read_far(void);
void mm_write_ttbr0(uint64_t v);   /* + TLB flush */
void mm_write_ttbr1(uint64_t v);   /* + TLB flush */
/* Break-before-make switch of the whole kernel half (boot.S): from boot.S's
 * identity map, TTBR1 -> empty table, TLB invalidate, TTBR1 -> new_ttbr1. */
void mm_replace_ttbr1(uint64_t new_ttbr1, uint64_t empty_table_pa);
/* PA of boot.S's all-invalid level-0 table. */
uint64_t mm_empty_table_pa(void);
void mm_write_mair(uint64_t v);
void mm_write_tcr(uint64_t v);
/* AT S1E1R on `va`: returns PAR_EL1 (bit 0 set = translation failed). */
uint64_t mm_translate_el1_read(uint64_t va);
/* AT S1E1W on `va`: PAR_EL1, bit 0 set if an EL1 store would fault. */
uint64_t mm_translate_el1_write(uint64_t va);
void mm_tlb_flush_all(void);
void mm_dsb_isb(void);
/* dsb ishst; isb: descriptor stores visible to the table walker. */
void mm_publish_descriptors(void);
/* dsb ishst; tlbi vaae1is, va; dsb ish; isb: forget user VA `va` in every ASID. */
void mm_tlb_invalidate_user_page(uint64_t va);
/* dc cvau / ic ivau over [kva, kva + length) + dsb ish; isb (CTR_EL0 line sizes). */
void mm_sync_icache(uint64_t kva, uint64_t length);
/* dsb ishst; tlbi aside1is, asid; dsb ish; isb: forget every non-global entry of `asid`. */
void mm_tlb_invalidate_asid(uint64_t asid);
/* TTBR0 := v (BADDR | ASID << 48) with no TLB flush: entries of other ASIDs stay valid. */
void mm_set_ttbr0(uint64_t v);
void mm_halt(void) __attribute__((noreturn));

#endif
