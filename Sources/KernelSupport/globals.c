/* The kernel's debugger-visible globals. See kernel_support.h. */
#include "kernel_support.h"

/* `retain`: a debugger looks these up by name even when no kernel code
 * references them yet, so --gc-sections must keep them. */
#define MM_DEBUGGER_VISIBLE __attribute__((used, retain))

MM_DEBUGGER_VISIBLE struct mm_task mm_tasks[MM_NR_TASKS];
MM_DEBUGGER_VISIBLE struct mm_task *mm_current;
MM_DEBUGGER_VISIBLE struct mm_page_pool mm_pool;
MM_DEBUGGER_VISIBLE struct mm_log_ring mm_log = { .magic = MM_LOG_MAGIC, .size = MM_LOG_RING_SIZE, .head = 0 };
MM_DEBUGGER_VISIBLE volatile uint64_t mm_tick;
MM_DEBUGGER_VISIBLE uint64_t mm_boot_dtb;
MM_DEBUGGER_VISIBLE struct mm_cpu mm_cpus[MM_MAX_CPUS];
MM_DEBUGGER_VISIBLE uint64_t mm_cpu_count = 1;
MM_DEBUGGER_VISIBLE volatile uint32_t mm_kernel_lock_word;
static uint64_t mm_pool_free_bits[MM_POOL_MAX_PAGES / 64];
uint64_t *mm_pool_free_bitmap(void) { return mm_pool_free_bits; }

#define OFF(type, member) ((uint32_t)__builtin_offsetof(type, member))

MM_DEBUGGER_VISIBLE
const struct mm_layout_record mm_layout = {
    .magic = MM_LAYOUT_MAGIC,
    .version = MM_LAYOUT_VERSION,
    .sizeof_task = sizeof(struct mm_task),
    .sizeof_mm = sizeof(struct mm_struct),
    .sizeof_user_page = sizeof(struct mm_user_page),
    .offsetof_task_mm = OFF(struct mm_task, mm),
    .offsetof_task_state = OFF(struct mm_task, state),
    .offsetof_task_pid = OFF(struct mm_task, pid),
    .offsetof_mm_user_pages = OFF(struct mm_struct, user_pages),
    .offsetof_mm_brk = OFF(struct mm_struct, brk),
    .nr_tasks = MM_NR_TASKS,
    .max_page_count = MM_MAX_PAGE_COUNT,
    .log_ring_size = MM_LOG_RING_SIZE,
    .sizeof_cpu = sizeof(struct mm_cpu),
    .max_cpus = MM_MAX_CPUS,
};
