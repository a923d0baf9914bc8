/* The kernel's debugger-visible globals. See kernel_support.h. */
#include "kernel_support.h"

struct mm_task mm_tasks[MM_NR_TASKS];
struct mm_task *mm_current;
struct mm_page_pool mm_pool;
struct mm_log_ring mm_log = { .magic = MM_LOG_MAGIC, .size = MM_LOG_RING_SIZE, .head = 0 };
volatile uint64_t mm_tick;
uint64_t mm_boot_dtb;

#define OFF(type, member) ((uint32_t)__builtin_offsetof(type, member))

__attribute__((used))
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
};
