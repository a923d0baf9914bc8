/*
 * kernel_abi.h — the ONE definition of every structure and constant that
 * crosses the kernel/debugger boundary.
 *
 * Imported by the kernel (Embedded Swift, through KernelSupport), by host
 * Swift code (Inspect, mmdbg, FaultInjection: offsets come from
 * MemoryLayout<T>.offset(of:)), and turned into gdb/mmdbg_layout.py by
 * scripts/gen-gdb-layout (a test regenerates it and fails on drift).
 *
 * Why C: C fixes the layout and C DWARF is correct; Swift promises no layout
 * and its Embedded DWARF gives wrong member offsets. Change a structure here
 * and bump MM_LAYOUT_VERSION: the debugger refuses to decode a kernel whose
 * exported mm_layout record disagrees with what it was compiled against.
 */
#ifndef MMDBG_KERNEL_ABI_H
#define MMDBG_KERNEL_ABI_H

#include <stdint.h>

#define MM_LAYOUT_MAGIC   0x4D4D4442474C4159ULL /* "MMDBGLAY" */
#define MM_LAYOUT_VERSION 3u   /* 2: mm_cpus[] (SMP); 3: the trap frame records its vector kind and ESR */

/* ---- Memory map --------------------------------------------------------
 *
 *  VA 0xFFFF_FFFF_FFFF_FFFF ┐
 *                           │ TTBR1: kernel half
 *  VA 0xFFFF_0000_0000_0000 ┘ linear map of RAM: KVA = PA + LINEAR_MAP_BASE
 *       (non-canonical hole)
 *  VA 0x0000_1000_0000_0000   STACK_TOP (exclusive)
 *       [STACK_LOW, STACK_TOP)            user stack, demand paged, grows down
 *       [STACK_GUARD_LOW, STACK_GUARD_HIGH) guard: a fault here = stack overflow
 *       ... 16 TiB gap: wild (0xDEADBEEF000 lives here) ...
 *       [HEAP_BASE, mm.brk)               heap, demand paged
 *       [DATA_BASE, HEAP_BASE)            ELF data/bss, eagerly mapped; else wild
 *       [TEXT_BASE, DATA_BASE)            ELF text, eagerly mapped
 *  VA 0x0000_0000_0000_0000   TTBR0: user half
 */
#define MM_PAGE_SHIFT        12
#define MM_PAGE_SIZE         4096ULL
#define MM_PAGE_MASK         0xFFFFFFFFFFFFF000ULL
#define MM_LINEAR_MAP_BASE   0xFFFF000000000000ULL
#define MM_RAM_BASE          0x40000000ULL
#define MM_KERNEL_LOAD_PA    0x40200000ULL /* 2 MiB into RAM: QEMU puts the DTB (up to 1 MiB) below it */

#define MM_TEXT_BASE         0x0000000000400000ULL
#define MM_DATA_BASE         0x0000000001000000ULL
#define MM_HEAP_BASE         0x0000000010000000ULL
#define MM_STACK_TOP         0x0000100000000000ULL
#define MM_STACK_LOW         (MM_STACK_TOP - 0x10000ULL)   /* 16 pages of stack */
#define MM_STACK_GUARD_HIGH  MM_STACK_LOW
#define MM_STACK_GUARD_LOW   (MM_STACK_LOW - 0x10000ULL)   /* 16 guard pages */

/* ---- Descriptor bits the kernel uses (Arm ARM names) ------------------- */
#define MM_TD_VALID          (1ULL << 0)
#define MM_TD_TABLE          (1ULL << 1)   /* table at L0-L2, page at L3 */
#define MM_TD_ATTR_NORMAL    (0ULL << 2)   /* AttrIndx 0 = MAIR normal WB */
#define MM_TD_ATTR_DEVICE    (1ULL << 2)   /* AttrIndx 1 = MAIR device nGnRnE */
#define MM_TD_AP_EL0         (1ULL << 6)   /* AP[1]: EL0 access */
#define MM_TD_AP_RO          (1ULL << 7)   /* AP[2]: read-only */
#define MM_TD_SH_INNER       (3ULL << 8)
#define MM_TD_AF             (1ULL << 10)
#define MM_TD_NG             (1ULL << 11)
#define MM_TD_PXN            (1ULL << 53)
#define MM_TD_UXN            (1ULL << 54)

#define MM_TD_USER_TABLE_FLAGS (MM_TD_TABLE | MM_TD_VALID)
/* Leaf bag shared by the ELF loader and demand paging (as the reference's
 * TD_USER_PAGE_FLAGS_DEFAULT): valid page, normal memory, EL0 RW, AF, inner
 * shareable, not global, privileged execute never. */
/* Swift imports only single-literal macros, so the two permission bags are
 * spelled as literals; the static asserts below pin them to their bits. */
#define MM_TD_USER_PAGE_FLAGS_DEFAULT 0x0020000000000F43ULL
#define MM_TD_USER_XN        MM_TD_UXN
/* Text: read-only + executable at EL0 (a store raises a permission fault). */
#define MM_TD_USER_TEXT_FLAGS 0x0020000000000FC3ULL
_Static_assert(MM_TD_USER_PAGE_FLAGS_DEFAULT ==
    (MM_TD_VALID | MM_TD_TABLE | MM_TD_ATTR_NORMAL | MM_TD_AP_EL0 |
     MM_TD_SH_INNER | MM_TD_AF | MM_TD_NG | MM_TD_PXN), "user page flag bag");
_Static_assert(MM_TD_USER_TEXT_FLAGS == (MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_AP_RO),
    "user text flag bag");

/* Kernel (TTBR1) leaf attributes, W^X as Linux maps itself with
 * rodata=full: EL0 never reaches kernel memory (no AP[1], UXN everywhere),
 * and no kernel mapping is both writable and executable.
 *   TEXT:   the image's .text ([__text_start, __text_end), kernel.ld), EL1 read-only + executable.
 *   RODATA: .rodata/.eh_frame ([__rodata_start, __rodata_end)), EL1 read-only, never executable.
 *   NORMAL: .data, .bss and the rest of the linear map, EL1 read-write, never executable (PXN).
 *   DEVICE: device nGnRnE, never executable.
 * Block (L1/L2) descriptors clear MM_TD_TABLE. */
#define MM_TD_KERNEL_TEXT    0x0040000000000783ULL  /* VALID|TABLE(page)|AP_RO|SH_INNER|AF|UXN */
#define MM_TD_KERNEL_RODATA  0x0060000000000783ULL  /* VALID|TABLE(page)|AP_RO|SH_INNER|AF|PXN|UXN */
#define MM_TD_KERNEL_NORMAL  0x0060000000000703ULL  /* VALID|TABLE(page)|SH_INNER|AF|PXN|UXN */
#define MM_TD_KERNEL_DEVICE  0x0060000000000407ULL  /* VALID|TABLE(page)|ATTR_DEVICE|AF|PXN|UXN */
_Static_assert(MM_TD_KERNEL_TEXT ==
    (MM_TD_VALID | MM_TD_TABLE | MM_TD_ATTR_NORMAL | MM_TD_AP_RO | MM_TD_SH_INNER | MM_TD_AF | MM_TD_UXN),
    "kernel text leaf");
_Static_assert(MM_TD_KERNEL_RODATA == (MM_TD_KERNEL_TEXT | MM_TD_PXN), "kernel rodata leaf");
_Static_assert(MM_TD_KERNEL_NORMAL ==
    (MM_TD_VALID | MM_TD_TABLE | MM_TD_ATTR_NORMAL | MM_TD_SH_INNER | MM_TD_AF | MM_TD_PXN | MM_TD_UXN),
    "kernel normal leaf");
_Static_assert(MM_TD_KERNEL_DEVICE ==
    (MM_TD_VALID | MM_TD_TABLE | MM_TD_ATTR_DEVICE | MM_TD_AF | MM_TD_PXN | MM_TD_UXN),
    "kernel device leaf");

/* Physical window mapped as device memory in the kernel half (GICv2 at
 * 0x08000000, PL011 at 0x09000000, RTC, fw_cfg, GPIO on -M virt), at
 * LINEAR_MAP_BASE + PA like RAM. */
#define MM_DEVICE_WINDOW_PA   0x08000000ULL
#define MM_DEVICE_WINDOW_SIZE 0x02000000ULL

/* MAIR_EL1 / TCR_EL1 the kernel runs with (boot.S sets the same values).
 * MAIR: Attr0 = 0xFF normal WB RW-allocate, Attr1 = 0x00 device nGnRnE,
 *       Attr2 = 0x44 normal non-cacheable.
 * TCR:  T0SZ = T1SZ = 16 (48-bit VA, 4 levels), TG0 = TG1 = 4 KiB,
 *       walks inner-shareable WB-WA, IPS = 40 bits, TBI0 = TBI1 = 1. */
#define MM_MAIR_VALUE        0x00000000004400FFULL
#define MM_TCR_VALUE         0x00000062B5103510ULL

/* ---- Sizes ------------------------------------------------------------- */
#define MM_MAX_PAGE_COUNT    64   /* kernel_pages[] and user_pages[] slots per task */
#define MM_NR_TASKS          16
#define MM_TASK_NAME_LEN     16
#define MM_LOG_RING_SIZE     16384
#define MM_MAX_CPUS          8    /* mm_cpus[] entries; QEMU virt's -smp 1..8 */

/* Freed pages are filled with this 64-bit pattern (Linux's POISON_FREE
 * byte, 0x6b). The debugger flags a mapped page that still holds it.
 * Every free page is on the free list (mm_page_pool.free_list); word 1 of a
 * free page links to the next one (PA, 0 = end). A page freed by free_page
 * holds the pattern in every other word; a page never handed out since boot
 * holds it in word 0 only (poisoning all of RAM at boot would cost seconds
 * under TCG). Pages handed out by get_free_page are zeroed. */
#define MM_PAGE_POISON       0x6B6B6B6B6B6B6B6BULL

/* ---- Task states ------------------------------------------------------- */
#define MM_TASK_FREE      0
#define MM_TASK_RUNNABLE  1
#define MM_TASK_RUNNING   2
#define MM_TASK_SLEEPING  3   /* sleep(): wakes at wake_tick */
#define MM_TASK_WAITING   4   /* wait(): wakes when a child becomes a zombie */
#define MM_TASK_ZOMBIE    5

/* ---- Fault markers: the exact text the kernel prints, one line each ---- */
#define MM_MARK_OOM            "[KERN] OOM at 0x"
#define MM_MARK_STACK_OVERFLOW "[KERN] stack overflow at 0x"
#define MM_MARK_TEXT_FAULT     "[KERN] text fault at 0x"
#define MM_MARK_INVALID_UVA    "[KERN] invalid uva at 0x"
#define MM_MARK_PERM_FAULT     "[KERN] perm fault at 0x"
#define MM_MARK_EXEC_FAULT     "[KERN] exec fault at 0x"
#define MM_MARK_EL0_SYNC       "[KERN] el0 sync fault ec=0x"

/* ---- Boot lines: stable prefixes other tools and tests assert --------
 * In boot order (values in lowercase hex without leading zeros, sizes in
 * decimal):
 *   mmdbg kernel: booting (Embedded Swift, AArch64)
 *   [BOOT] MMU on: SCTLR_EL1=0x<hex>
 *   [BOOT] dtb at 0x<pa>: ram 0x<pa> <N> MiB, psci <hvc|smc>, cmdline "<bootargs>"
 *   [BOOT] page pool: <N> pages at 0x<pa>
 *   [BOOT] linear map ok: <N> MiB at 0xffff000040000000 (<blocks|pages>), tables=<T>
 *   [BOOT] free pages: <N>
 *   [BOOT] mm self-test ok: ...     (map/copy/unmap through a scratch TTBR0;
 *                                    "[BOOT] mm self-test FAILED: <what>" on a
 *                                    MUTANT_* build, and boot goes on)
 *   ... later boot stages (part 2: init and the [TEST] scenarios) ...
 *   [BOOT] power off
 * A failed bring-up step prints "[PANIC] <what>" and powers off. */
#define MM_BOOT_BANNER         "mmdbg kernel: booting"
#define MM_BOOT_MMU_ON         "[BOOT] MMU on: SCTLR_EL1=0x"
#define MM_BOOT_DTB            "[BOOT] dtb at 0x"
#define MM_BOOT_PAGE_POOL      "[BOOT] page pool: "
#define MM_BOOT_LINEAR_MAP_OK  "[BOOT] linear map ok: "
#define MM_BOOT_FREE_PAGES     "[BOOT] free pages: "
#define MM_BOOT_MM_SELF_TEST   "[BOOT] mm self-test ok: "
#define MM_BOOT_POWER_OFF      "[BOOT] power off"
#define MM_PANIC               "[PANIC] "

/* ---- Structures -------------------------------------------------------- */

/** One user mapping recorded by map_page: physical page, user VA, leaf flags. */
struct mm_user_page {
    uint64_t pa;
    uint64_t uva;
    uint64_t flags;
};

/** A task's address space. kernel_pages[] holds every table page (pgd
 *  included) allocated for it; user_pages[] every mapped user page. A zero
 *  pa / zero entry is an empty slot. */
struct mm_struct {
    uint64_t pgd;                                   /* PA of the level-0 table */
    uint64_t kernel_pages[MM_MAX_PAGE_COUNT];
    struct mm_user_page user_pages[MM_MAX_PAGE_COUNT];
    uint64_t brk;
};

/** Callee-saved state for the kernel context switch (cpu_switch_to). */
struct mm_cpu_context {
    uint64_t x19, x20, x21, x22, x23, x24, x25, x26, x27, x28;
    uint64_t fp;   /* x29 */
    uint64_t sp;
    uint64_t pc;   /* x30 at switch time */
};

/** The register frame every exception entry saves (vectors.S): for an
 *  entry from EL0 at the top of the task's kernel stack. `kind` and `esr`
 *  let a debugger tell an SVC from a fault from an IRQ without guessing (a
 *  backtrace crosses the exception boundary with them). */
struct mm_trap_frame {
    uint64_t x[31];
    uint64_t sp_el0;
    uint64_t elr;
    uint64_t spsr;
    uint64_t kind;   /* vector index: 0-3 EL1t, 4-7 EL1h, 8-11 EL0 AArch64; +0 sync, +1 irq, +2 fiq, +3 serror */
    uint64_t esr;    /* ESR_EL1 at entry (meaningful for synchronous kinds only) */
};
#define MM_TRAP_FRAME_SIZE 288

struct mm_task {
    struct mm_cpu_context context;
    int64_t  state;          /* MM_TASK_* */
    int64_t  pid;            /* 0 = idle/kernel, user tasks from 1 */
    int64_t  parent_pid;
    int64_t  exit_code;
    int64_t  counter;        /* remaining time slice, in ticks */
    uint64_t wake_tick;      /* for MM_TASK_SLEEPING */
    uint64_t kernel_stack;   /* KVA of the kernel stack page (base) */
    uint64_t trap_frame;     /* KVA of the saved mm_trap_frame */
    char     name[MM_TASK_NAME_LEN];
    struct mm_struct mm;
};

/* ---- CPU states (mm_cpu.state) ---------------------------------------- */
#define MM_CPU_OFFLINE    0   /* not started (or not present) */
#define MM_CPU_IDLE       1   /* online, running its idle task */
#define MM_CPU_BUSY       2   /* online, running a user task */

/** One CPU, as the kernel sees it (mm_cpus[i], i = the index the boot
 *  order gave it: 0 = the boot CPU, then the device tree's /cpus order).
 *  TPIDR_EL1 of a CPU holds the KVA of its entry. */
struct mm_cpu {
    uint64_t current;        /* KVA of the mm_task it runs (0 = offline) */
    int64_t  state;          /* MM_CPU_* */
    uint64_t ticks;          /* timer interrupts it took */
    uint64_t mpidr;          /* MPIDR_EL1 affinity (the /cpus reg value) */
    uint64_t ipis;           /* reschedule IPIs (SGI 0) it took */
    uint64_t idle;           /* KVA of its idle task (an mm_tasks[] slot with pid 0) */
    uint64_t timer_armed;    /* kernel-internal: CNTV_CTL restored when IRQs unmask */
};
#define MM_CPU_TIMER_ARMED_OFFSET 48   /* vectors.S reads it through TPIDR_EL1 */

/** Physical page pool counters, readable by a debugger at any stop. */
struct mm_page_pool {
    uint64_t base_pa;        /* first allocatable page */
    uint64_t page_count;     /* pages in the pool */
    uint64_t free_pages;     /* currently free */
    uint64_t alloc_count;    /* successful get_free_page calls, ever */
    uint64_t free_count;     /* free_page calls, ever */
    uint64_t fail_count;     /* get_free_page calls that returned 0 */
    uint64_t free_list;      /* PA of the first free page (0 = empty); next ptr in page word 1 */
    uint64_t limit;          /* if nonzero, allocations fail once free_pages <= page_count - limit (test hook) */
};

/** The kernel log ring: every UART line also lands here. `head` counts
 *  every byte ever written; the live window is the last min(head, size)
 *  bytes ending at buf[head % size]. */
struct mm_log_ring {
    uint64_t magic;          /* MM_LOG_MAGIC */
#ifdef MUTANT_LAYOUT_MOVED   /* layout-check test kernel: head moved before size (same size) */
    uint64_t head;
    uint64_t size;
#else
    uint64_t size;           /* MM_LOG_RING_SIZE */
    uint64_t head;
#endif
    char     buf[MM_LOG_RING_SIZE];
};
#define MM_LOG_MAGIC 0x4D4D44424C4F4721ULL /* "MMDBLOG!" */

/** Exported by the kernel as `mm_layout`: what the kernel was compiled with.
 *  The debugger compares it with the same values computed on the host. */
struct mm_layout_record {
    uint64_t magic;               /* MM_LAYOUT_MAGIC */
    uint32_t version;             /* MM_LAYOUT_VERSION */
    uint32_t sizeof_task;
    uint32_t sizeof_mm;
    uint32_t sizeof_user_page;
    uint32_t offsetof_task_mm;
    uint32_t offsetof_task_state;
    uint32_t offsetof_task_pid;
    uint32_t offsetof_mm_user_pages;
    uint32_t offsetof_mm_brk;
    uint32_t nr_tasks;
    uint32_t max_page_count;
    uint32_t log_ring_size;
    uint32_t sizeof_cpu;          /* version 2 */
    uint32_t max_cpus;
};

/* Offsets of members Swift cannot import (C arrays longer than Swift's
 * tuple import limit). Implemented in abi.c, usable on host and kernel. */
uint32_t mm_abi_offsetof_log_buf(void);

_Static_assert(__builtin_offsetof(struct mm_cpu, timer_armed) == MM_CPU_TIMER_ARMED_OFFSET, "mm_cpu.timer_armed");

#endif
