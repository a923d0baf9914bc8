/* Hardware primitives. Real on bare-metal AArch64, inert on the host. */
#include "kernel_support.h"

#if MM_BARE_METAL
extern char __kernel_start[], __kernel_end[], __text_end[], __rodata_end[];
uint64_t mm_kernel_start_va(void) { return (uint64_t)__kernel_start; }
uint64_t mm_kernel_end_va(void) { return (uint64_t)__kernel_end; }
uint64_t mm_kernel_text_end_va(void) { return (uint64_t)__text_end; }
uint64_t mm_kernel_rodata_end_va(void) { return (uint64_t)__rodata_end; }
extern char boot_empty_table[];
uint64_t mm_empty_table_pa(void) { return (uint64_t)boot_empty_table - MM_LINEAR_MAP_BASE; }

/* PL011 on -M virt, reached through the linear map once the MMU is on. */
#define UART_BASE (MM_LINEAR_MAP_BASE + 0x09000000ULL)
#define UART_DR   (*(volatile uint32_t *)(UART_BASE + 0x00))
#define UART_FR   (*(volatile uint32_t *)(UART_BASE + 0x18))

void mm_uart_putc(uint8_t c) {
    while (UART_FR & (1u << 5)) { } /* TX FIFO full */
    UART_DR = c;
}

uint64_t mm_psci_use_smc;

void mm_psci_system_off(void) {
    register uint64_t x0 __asm__("x0") = 0x84000008ULL; /* PSCI SYSTEM_OFF */
    if (mm_psci_use_smc) __asm__ volatile("smc #0" : "+r"(x0) :: "memory");
    else __asm__ volatile("hvc #0" : "+r"(x0) :: "memory");
    mm_halt();
}

#define RD(name) ({ uint64_t v; __asm__ volatile("mrs %0, " #name : "=r"(v)); v; })
uint64_t mm_read_sctlr(void) { return RD(sctlr_el1); }
uint64_t mm_read_ttbr0(void) { return RD(ttbr0_el1); }
uint64_t mm_read_ttbr1(void) { return RD(ttbr1_el1); }
uint64_t mm_read_tcr(void)   { return RD(tcr_el1); }
uint64_t mm_read_mair(void)  { return RD(mair_el1); }
uint64_t mm_read_esr(void)   { return RD(esr_el1); }
uint64_t mm_read_far(void)   { return RD(far_el1); }

void mm_tlb_flush_all(void) {
    __asm__ volatile("dsb ishst\n tlbi vmalle1is\n dsb ish\n isb" ::: "memory");
}
void mm_write_ttbr0(uint64_t v) {
    __asm__ volatile("msr ttbr0_el1, %0\n isb" :: "r"(v) : "memory");
    mm_tlb_flush_all();
}
void mm_write_ttbr1(uint64_t v) {
    __asm__ volatile("msr ttbr1_el1, %0\n isb" :: "r"(v) : "memory");
    mm_tlb_flush_all();
}
void mm_write_mair(uint64_t v) { __asm__ volatile("msr mair_el1, %0\n isb" :: "r"(v) : "memory"); }
void mm_write_tcr(uint64_t v) {
    __asm__ volatile("msr tcr_el1, %0\n isb" :: "r"(v) : "memory");
    mm_tlb_flush_all();
}
uint64_t mm_translate_el1_read(uint64_t va) {
    uint64_t par;
    __asm__ volatile("at s1e1r, %1\n isb\n mrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
    return par;
}
uint64_t mm_translate_el1_write(uint64_t va) {
    uint64_t par;
    __asm__ volatile("at s1e1w, %1\n isb\n mrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
    return par;
}
void mm_dsb_isb(void) { __asm__ volatile("dsb sy\n isb" ::: "memory"); }
void mm_publish_descriptors(void) { __asm__ volatile("dsb ishst\n isb" ::: "memory"); }
void mm_tlb_invalidate_user_page(uint64_t va) {
    /* VAAE1IS: every ASID; operand = VA[55:12] in bits [43:0]. */
    uint64_t operand = (va >> 12) & 0x00000FFFFFFFFFFFULL;
    __asm__ volatile("dsb ishst\n tlbi vaae1is, %0\n dsb ish\n isb" :: "r"(operand) : "memory");
}
void mm_tlb_invalidate_asid(uint64_t asid) {
    __asm__ volatile("dsb ishst\n tlbi aside1is, %0\n dsb ish\n isb" :: "r"(asid << 48) : "memory");
}
void mm_set_ttbr0(uint64_t v) { __asm__ volatile("msr ttbr0_el1, %0\n isb" :: "r"(v) : "memory"); }
void mm_sync_icache(uint64_t kva, uint64_t length) {
    uint64_t ctr;
    __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
    uint64_t dline = 4ULL << ((ctr >> 16) & 0xF), iline = 4ULL << (ctr & 0xF);
    uint64_t end = kva + length;
    for (uint64_t a = kva & ~(dline - 1); a < end; a += dline) __asm__ volatile("dc cvau, %0" :: "r"(a) : "memory");
    __asm__ volatile("dsb ish" ::: "memory");
    for (uint64_t a = kva & ~(iline - 1); a < end; a += iline) __asm__ volatile("ic ivau, %0" :: "r"(a) : "memory");
    __asm__ volatile("dsb ish\n isb" ::: "memory");
}
void mm_halt(void) { for (;;) __asm__ volatile("wfi"); }

struct mm_cpu *mm_this_cpu(void) { return (struct mm_cpu *)RD(tpidr_el1); }
void mm_set_this_cpu(struct mm_cpu *cpu) { __asm__ volatile("msr tpidr_el1, %0" :: "r"(cpu) : "memory"); }
uint64_t mm_read_mpidr(void) { return RD(mpidr_el1) & 0xFF00FFFFFFULL; }

/* A test-and-set lock with acquire/release semantics (ldaxr/stxr, stlr);
 * waiters sleep in wfe until the owner's stlr clears their monitor. */
void mm_kernel_lock(void) {
    uint32_t owner = (uint32_t)(mm_this_cpu() - mm_cpus) + 1, seen, failed;
    __asm__ volatile("sevl\n"
                     "1: wfe\n"
                     "2: ldaxr %w0, [%2]\n"
                     "   cbnz  %w0, 1b\n"
                     "   stxr  %w1, %w3, [%2]\n"
                     "   cbnz  %w1, 2b\n"
                     : "=&r"(seen), "=&r"(failed) : "r"(&mm_kernel_lock_word), "r"(owner) : "memory");
}
void mm_kernel_unlock(void) { __asm__ volatile("stlr wzr, [%0]" :: "r"(&mm_kernel_lock_word) : "memory"); }

int64_t mm_psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t context) {
    register uint64_t x0 __asm__("x0") = 0xC4000003ULL; /* PSCI CPU_ON, SMC64 */
    register uint64_t x1 __asm__("x1") = mpidr;
    register uint64_t x2 __asm__("x2") = entry_pa;
    register uint64_t x3 __asm__("x3") = context;
    if (mm_psci_use_smc) __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) :: "memory");
    else __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) :: "memory");
    return (int64_t)x0;
}
extern char secondary_entry[];
uint64_t mm_secondary_entry_pa(void) { return (uint64_t)secondary_entry - MM_LINEAR_MAP_BASE; }
struct mm_secondary_boot mm_secondary_boot __attribute__((aligned(64)));
void mm_publish_secondary_boot(uint64_t ttbr1, uint64_t stack_top) {
    mm_secondary_boot.ttbr1 = ttbr1;
    mm_secondary_boot.stack_top = stack_top;
    /* The secondary reads this with its MMU (and so its caches) off. */
    __asm__ volatile("dc civac, %0\n dsb sy" :: "r"(&mm_secondary_boot) : "memory");
}

#else /* host: inert stand-ins so pure kernel logic links into host tests */
uint64_t mm_kernel_start_va(void) { return 0; }
uint64_t mm_kernel_end_va(void) { return 0; }
uint64_t mm_kernel_text_end_va(void) { return 0; }
uint64_t mm_kernel_rodata_end_va(void) { return 0; }
uint64_t mm_empty_table_pa(void) { return 0; }
void mm_replace_ttbr1(uint64_t new_ttbr1, uint64_t empty_table_pa) { (void)new_ttbr1; (void)empty_table_pa; }
void mm_uart_putc(uint8_t c) { (void)c; }
uint64_t mm_psci_use_smc;
void mm_psci_system_off(void) { __builtin_trap(); }
uint64_t mm_read_sctlr(void) { return 0; }
uint64_t mm_read_ttbr0(void) { return 0; }
uint64_t mm_read_ttbr1(void) { return 0; }
uint64_t mm_read_tcr(void) { return 0; }
uint64_t mm_read_mair(void) { return 0; }
uint64_t mm_read_esr(void) { return 0; }
uint64_t mm_read_far(void) { return 0; }
void mm_write_ttbr0(uint64_t v) { (void)v; }
void mm_write_ttbr1(uint64_t v) { (void)v; }
void mm_write_mair(uint64_t v) { (void)v; }
void mm_write_tcr(uint64_t v) { (void)v; }
uint64_t mm_translate_el1_read(uint64_t va) { (void)va; return 1; }
uint64_t mm_translate_el1_write(uint64_t va) { (void)va; return 1; }
void mm_tlb_flush_all(void) { }
void mm_dsb_isb(void) { }
void mm_publish_descriptors(void) { }
void mm_tlb_invalidate_user_page(uint64_t va) { (void)va; }
void mm_sync_icache(uint64_t kva, uint64_t length) { (void)kva; (void)length; }
void mm_tlb_invalidate_asid(uint64_t asid) { (void)asid; }
void mm_set_ttbr0(uint64_t v) { (void)v; }
void mm_halt(void) { __builtin_trap(); }
struct mm_cpu *mm_this_cpu(void) { return &mm_cpus[0]; }
void mm_set_this_cpu(struct mm_cpu *cpu) { (void)cpu; }
uint64_t mm_read_mpidr(void) { return 0; }
void mm_kernel_lock(void) { }
void mm_kernel_unlock(void) { }
int64_t mm_psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t context) { (void)mpidr; (void)entry_pa; (void)context; return -1; }
uint64_t mm_secondary_entry_pa(void) { return 0; }
struct mm_secondary_boot mm_secondary_boot;
void mm_publish_secondary_boot(uint64_t ttbr1, uint64_t stack_top) { (void)ttbr1; (void)stack_top; }
#endif
