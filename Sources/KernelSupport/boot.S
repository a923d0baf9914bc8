/*
 * boot.S — entry from QEMU (-M virt, EL1, MMU off, x0 = device tree PA).
 *
 * The image is linked in the upper half (VA = PA + 0xFFFF000000000000) and
 * loaded at PA 0x40200000. Until the MMU is on, PC holds physical addresses;
 * adrp/adr are PC-relative, so they yield physical addresses here and
 * virtual ones after the jump to high_start.
 *
 * Boot tables (replaced by the Swift kernel's own 4-level tables):
 *   TTBR0 (identity, only until the jump): L1[0] = 1 GiB device block @ PA 0,
 *                                          L1[1] = 1 GiB normal block @ PA 0x40000000
 *   TTBR1 (linear map, 2 GiB):             the same two blocks at LINEAR_MAP_BASE
 */
#if defined(__aarch64__) && !defined(__linux__) && !defined(__APPLE__)

#define TCR_VALUE   0x62B5103510   /* T0SZ=T1SZ=16, 4K granules, WBWA inner-shareable walks, IPS=40 bits, TBI0, TBI1 */
#define MAIR_VALUE  0x4400FF       /* Attr0 normal WB, Attr1 device nGnRnE, Attr2 normal non-cacheable */
#define BLOCK_DEVICE 0x0060000000000405  /* UXN PXN AF AttrIndx=1 block */
#define BLOCK_NORMAL 0x0040000000000701  /* UXN AF SH=inner AttrIndx=0 block: EL0 never executes kernel memory.
                                            EL1 RWX until MemorySetup installs the W^X tables
                                            (a 1 GiB block cannot split text from data). */

    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbz     x1, 1f
0:  wfe                             /* other cores park: the kernel starts them with PSCI CPU_ON (secondary_entry) */
    b       0b
1:  mov     x19, x0                 /* keep the device tree PA */

    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
2:  cmp     x1, x2
    b.hs    3f
    str     xzr, [x1], #8
    b       2b
3:
    adrp    x0, boot_l0_high
    adrp    x1, boot_l1_high
    bl      fill_boot_tables
    adrp    x0, boot_l0_ident
    adrp    x1, boot_l1_ident
    bl      fill_boot_tables

    ldr     x0, =MAIR_VALUE
    msr     mair_el1, x0
    ldr     x0, =TCR_VALUE
    msr     tcr_el1, x0
    adrp    x0, boot_l0_ident
    msr     ttbr0_el1, x0
    adrp    x0, boot_l0_high
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x0, sctlr_el1
    orr     x0, x0, #(1 << 0)       /* M: MMU */
    orr     x0, x0, #(1 << 2)       /* C: data cache */
    orr     x0, x0, #(1 << 12)      /* I: instruction cache */
    msr     sctlr_el1, x0
    isb
    ldr     x0, =high_start         /* absolute (upper-half) address */
    br      x0

/* x0 = L0 table PA, x1 = L1 table PA */
fill_boot_tables:
    orr     x2, x1, #3
    str     x2, [x0]
    ldr     x2, =BLOCK_DEVICE
    str     x2, [x1]
    ldr     x2, =(BLOCK_NORMAL | 0x40000000)
    str     x2, [x1, #8]
    ret

/*
 * void mm_replace_ttbr1(uint64_t new_ttbr1, uint64_t empty_table_pa)
 *
 * Break-before-make for the whole kernel half, as Linux's
 * idmap_cpu_replace_ttbr1: the boot blocks and the new tables map the same
 * kernel VAs with other block sizes and permissions, and a TLB holding
 * both (one from each) may raise a TLB conflict abort or use either on real
 * hardware. So: jump to the identity map (TTBR0, boot_l0_ident), point TTBR1
 * at an empty table (break), invalidate the TLB, then install the new
 * tables (make) and return to the kernel half. Nothing in the window
 * touches memory (no stack, no literal loads) or may take an exception:
 * call with interrupts masked.
 */
    .global mm_replace_ttbr1
mm_replace_ttbr1:
    dsb     ishst                   /* the new tables are visible to the walker */
    adr     x2, 1f
    and     x2, x2, #0x0000ffffffffffff   /* PA = identity-mapped VA of 1f */
    br      x2
1:  msr     ttbr1_el1, x1           /* break: the kernel half maps nothing */
    isb
    tlbi    vmalle1                 /* drop every boot-block translation */
    dsb     nsh
    isb
    msr     ttbr1_el1, x0           /* make */
    isb
    ret                             /* x30 is a kernel-half VA again */

high_start:
    ldr     x0, =boot_stack_top
    mov     sp, x0
    ldr     x0, =exception_vectors
    msr     vbar_el1, x0
    ldr     x0, =mm_cpus            /* TPIDR_EL1 = &mm_cpus[0] (mm_this_cpu) */
    msr     tpidr_el1, x0
    isb
    adrp    x0, mm_boot_dtb
    str     x19, [x0, :lo12:mm_boot_dtb]
    mov     x29, xzr
    mov     x30, xzr
    bl      main
    b       mm_halt
    .ltorg

/*
 * secondary_entry — where PSCI CPU_ON starts another CPU (MMU off, EL1,
 * x0 = context id = its mm_cpus[] index). The CPU that started it published
 * the live TTBR1 and this CPU's stack top in mm_secondary_boot (cleaned to
 * PoC: read here with caches off). Same MAIR/TCR as the boot CPU; the boot
 * identity map (TTBR0) only for the jump to the kernel half, then TTBR0 gets
 * the empty table and the local TLB is invalidated.
 */
    .global secondary_entry
secondary_entry:
    mov     x19, x0
    ldr     x0, =MAIR_VALUE
    msr     mair_el1, x0
    ldr     x0, =TCR_VALUE
    msr     tcr_el1, x0
    adrp    x0, boot_l0_ident
    msr     ttbr0_el1, x0
    adrp    x1, mm_secondary_boot
    add     x1, x1, :lo12:mm_secondary_boot
    ldr     x0, [x1]
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x0, sctlr_el1
    orr     x0, x0, #(1 << 0)
    orr     x0, x0, #(1 << 2)
    orr     x0, x0, #(1 << 12)
    msr     sctlr_el1, x0
    isb
    ldr     x0, =secondary_high
    br      x0
secondary_high:
    ldr     x1, =mm_secondary_boot
    ldr     x0, [x1, #8]
    mov     sp, x0
    ldr     x0, =exception_vectors
    msr     vbar_el1, x0
    adrp    x0, boot_empty_table    /* PC-relative in the kernel half: a KVA */
    add     x0, x0, :lo12:boot_empty_table
    and     x0, x0, #0x0000ffffffffffff
    msr     ttbr0_el1, x0           /* the identity map retires */
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mov     x0, x19
    mov     x29, xzr
    mov     x30, xzr
    bl      mm_secondary_main
    b       mm_halt
    .ltorg

    .section .bss.boot, "aw", %nobits
    .balign 4096
    .global boot_l0_high, boot_l1_high, boot_l0_ident, boot_l1_ident
boot_l0_high:   .space 4096
boot_l1_high:   .space 4096
boot_l0_ident:  .space 4096
boot_l1_ident:  .space 4096
    .global boot_empty_table
boot_empty_table: .space 4096      /* all invalid: TTBR1 during the break, TTBR0 once the identity map retires */
    .balign 16
    .global boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .space 32768
boot_stack_top:

#endif
