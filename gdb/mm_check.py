"""Consistency checks across tasks, their page tables and the page pool:
mm-check. Each finding is one line naming the task, the VA and what is
wrong; the last line counts them."""
import gdb

import mm_layout
import mm_space
import mm_target
import mm_tasks
import mmdbg_layout as L

POISON_BYTES = L.MM_PAGE_POISON.to_bytes(8, "little") * 8   # the first 64 bytes of a freed page


_PROBLEM_WORDS = {"repeatedTable": "table named twice", "loop": "table loop", "unreadableTable": "unreadable table"}


def leaf_containing(leaves, va):
    """The leaf that maps `va` (leaves are in VA order; few enough to scan)."""
    for leaf in leaves:
        if leaf.va <= va < leaf.va + leaf.size:
            return leaf
    return None


def check_task(task, findings, mapped):
    """Checks one task's mm against a walk of its own tables; records what it maps in `mapped`."""
    pid = task.pid
    space = mm_tasks.task_space(task)
    result = mm_space.walk(space, keep_leaves=True)
    flag_mask = ~space.oa_mask() & (2**64 - 1)
    for problem in result.problems:
        what = _PROBLEM_WORDS.get(problem.kind, "malformed descriptor")
        findings.append("pid %d va 0x%x: %s: %s" % (pid, problem.va, what, problem.text()))

    recorded = task.user_pages()
    recorded_by_va = {}
    for uva, pa, flags in recorded:
        if uva in recorded_by_va:
            findings.append("pid %d va 0x%x: user_pages records the VA twice" % (pid, uva))
        recorded_by_va[uva] = (pa, flags)
        leaf = leaf_containing(result.leaves, uva)
        if leaf is None:
            findings.append("pid %d va 0x%x: user_pages records PA 0x%x but no PTE maps the VA" % (pid, uva, pa))
            continue
        mapped_pa = leaf.pa + (uva - leaf.va)
        if mapped_pa != pa:
            findings.append("pid %d va 0x%x: PTE maps PA 0x%x, user_pages records PA 0x%x" % (pid, uva, mapped_pa, pa))
        if leaf.descriptor & flag_mask != flags:
            findings.append("pid %d va 0x%x: PTE flags 0x%x, user_pages records flags 0x%x"
                            % (pid, uva, leaf.descriptor & flag_mask, flags))

    for leaf in result.leaves:
        mapped.setdefault(leaf.pa, "pid %d va 0x%x" % (pid, leaf.va))
        if leaf.level != 3:
            findings.append("pid %d va 0x%x: %d-byte block mapping in a user address space" % (pid, leaf.va, leaf.size))
        elif leaf.va not in recorded_by_va:
            findings.append("pid %d va 0x%x: PTE maps PA 0x%x but user_pages has no entry for it" % (pid, leaf.va, leaf.pa))
        attributes = leaf.attributes
        if (attributes.el0_write and attributes.el0_exec) or (attributes.el1_write and attributes.el1_exec):
            el1, el0 = attributes.permissions()
            findings.append("pid %d va 0x%x: mapping is writable and executable (k:%s u:%s)" % (pid, leaf.va, el1, el0))

    tables = set(task.kernel_pages())
    for level in sorted(result.tables):
        for table_pa in result.tables[level]:
            mapped.setdefault(table_pa, "pid %d L%d table" % (pid, level))
            if table_pa not in tables:
                findings.append("pid %d va -: L%d table at PA 0x%x is not in kernel_pages" % (pid, level, table_pa))

    with mm_target.physical_memory():
        for uva, pa, _ in recorded:
            if mm_target.read_memory(pa, len(POISON_BYTES), "user page") == POISON_BYTES:
                findings.append("pid %d va 0x%x: mapped page PA 0x%x still holds the free-page poison" % (pid, uva, pa))
    return len(recorded), sum(len(pas) for pas in result.tables.values())


def free_pages(pool, findings):
    """PAs on the pool's free list (next pointer in word 1 of each free page)."""
    free = []
    seen = set()
    page = pool.free_list
    with mm_target.physical_memory():
        while page:
            if page in seen:
                findings.append("pool va -: free list loops back to PA 0x%x" % page)
                break
            if not pool.base_pa <= page < pool.base_pa + pool.page_count * L.MM_PAGE_SIZE or page % L.MM_PAGE_SIZE:
                findings.append("pool va -: free list holds PA 0x%x outside the pool or unaligned" % page)
                break
            seen.add(page)
            free.append(page)
            page = int.from_bytes(mm_target.read_memory(page + 8, 8, "free-list link"), "little")
    if len(free) != pool.free_pages and not findings:
        findings.append("pool va -: free list holds %d pages, mm_pool.free_pages says %d" % (len(free), pool.free_pages))
    return free


class CheckCommand(gdb.Command):
    """Check tasks, page tables and the page pool for consistency.

Usage: mm-check

For every task with page tables (walked from its own mm.pgd):
  every user_pages entry has a PTE with the recorded PA and flags;
  every user PTE is accounted in user_pages;
  no mapping is writable and executable;
  kernel_pages holds every table the walk finds;
  no descriptor is malformed; no mapped page still holds the free poison.
Across the kernel: no page is both mapped and on the pool's free list, and
the free list agrees with mm_pool.free_pages.
Each finding is one line `pid P va V: what`; the last line counts them
(mmdbg: check).

Example:
  mm-check"""

    def __init__(self):
        super().__init__("mm-check", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("mm-check takes no arguments")
        findings = []
        mapped = {}
        tasks = [task for task in mm_tasks.read_tasks() if task.view.mm.pgd]
        user_pages = tables = 0
        for task in tasks:
            pages, table_count = check_task(task, findings, mapped)
            user_pages += pages
            tables += table_count
        pool = mm_layout.read_struct("mm_pool", "mm_page_pool")
        pool_findings = []
        free = free_pages(pool, pool_findings)
        findings += pool_findings
        for pa in free:
            if pa in mapped:
                findings.append("%s: PA 0x%x is both mapped and on the free list" % (mapped[pa], pa))
        for line in findings:
            gdb.write(line + "\n")
        gdb.write("mm-check: %d findings (%d tasks with page tables, %d user pages, %d tables, %d free pages)\n"
                  % (len(findings), len(tasks), user_pages, tables, len(free)))


def register_commands():
    CheckCommand()
