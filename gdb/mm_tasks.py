"""Kernel tasks: mm-tasks (the task table) and mm-task PID (one task).

The table is the kernel global `mm_tasks[MM_NR_TASKS]` (struct mm_task),
read at once; `mm_current` points at the running task. Layouts come from
gdb/mmdbg_layout.py, checked against the kernel's mm_layout record.
"""
import gdb

import mm_layout
import mm_space
import mm_target
import mmdbg_layout as L

STATE_NAMES = {L.MM_TASK_FREE: "free", L.MM_TASK_RUNNABLE: "runnable", L.MM_TASK_RUNNING: "running",
               L.MM_TASK_SLEEPING: "sleeping", L.MM_TASK_WAITING: "waiting", L.MM_TASK_ZOMBIE: "zombie"}


def state_name(state):
    return STATE_NAMES.get(state, "state%d" % state)


class Task:
    """One slot of mm_tasks: its index, kernel address and decoded members."""

    def __init__(self, slot, address, view):
        self.slot, self.address, self.view = slot, address, view

    @property
    def pid(self):
        return self.view.pid

    def user_pages(self):
        """[(uva, pa, flags)] of the occupied user_pages slots."""
        return [(page.uva, page.pa, page.flags) for page in self.view.mm.user_pages if page.pa]

    def kernel_pages(self):
        return [pa for pa in self.view.mm.kernel_pages if pa]


def read_tasks(include_free=False):
    """The task table, one Task per used slot (every slot with include_free)."""
    mm_layout.ensure_compatible()
    base = mm_target.symbol_address("mm_tasks")
    size = mm_layout.sizeof("mm_task")
    views = mm_layout.read_array("mm_tasks", "mm_task", L.MM_NR_TASKS)
    return [Task(slot, base + slot * size, view) for slot, view in enumerate(views)
            if include_free or view.state != L.MM_TASK_FREE]


def current_task_address():
    return int.from_bytes(mm_target.read_kernel(mm_target.symbol_address("mm_current"), 8, "mm_current"), "little")


def find_task(pid):
    for task in read_tasks():
        if task.pid == pid:
            return task
    raise gdb.GdbError("no task with pid %d (see mm-tasks)" % pid)


def task_space(task):
    """The task's user half, walked from its own mm.pgd with the CPU's TCR geometry."""
    if not task.view.mm.pgd:
        raise gdb.GdbError("task %d has no page tables (mm.pgd = 0)" % task.pid)
    return mm_space.table_space(task.view.mm.pgd, "ttbr0", "pid %d mm.pgd" % task.pid)


class TasksCommand(gdb.Command):
    """List the kernel's tasks (the used slots of mm_tasks).

Usage: mm-tasks

Columns: current marker (*), pid, parent pid, state, name, mm.pgd (PA),
mm.brk, table pages (kernel_pages) and user pages (user_pages) in use,
slot in mm_tasks (mmdbg: tasks).

Example:
  mm-tasks"""

    def __init__(self):
        super().__init__("mm-tasks", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("mm-tasks takes no arguments (mm-task PID shows one task)")
        tasks = read_tasks()
        current = current_task_address()
        gdb.write("  %5s %5s %-9s %-16s %-12s %-12s %6s %6s %4s\n"
                  % ("PID", "PPID", "STATE", "NAME", "PGD", "BRK", "TABLES", "UPAGES", "SLOT"))
        for task in tasks:
            view = task.view
            gdb.write("%s %5d %5d %-9s %-16s 0x%-10x 0x%-10x %6d %6d %4d\n"
                      % ("*" if task.address == current else " ", view.pid, view.parent_pid,
                         state_name(view.state), view.name or "-", view.mm.pgd, view.mm.brk,
                         len(task.kernel_pages()), len(task.user_pages()), task.slot))
        gdb.write("%d tasks\n" % len(tasks))


class TaskCommand(gdb.Command):
    """Show one task: state, saved context, trap frame, and its mm.

Usage: mm-task PID

Prints the task's identity and scheduling fields, the callee-saved context
of its last switch, the EL0 registers saved in its trap frame, its mm (pgd, brk, every table page in kernel_pages and
every user page in user_pages as `uva -> pa flags`) (mmdbg: task PID).

Example:
  mm-task 1"""

    def __init__(self):
        super().__init__("mm-task", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if len(args) != 1:
            raise gdb.GdbError("usage: mm-task PID")
        task = find_task(mm_target.parse_int(args[0], "pid"))
        view = task.view
        write = gdb.write
        write("pid %d (%s) slot %d at 0x%x%s\n" % (view.pid, view.name or "-", task.slot, task.address,
                                                   " [current]" if task.address == current_task_address() else ""))
        write("  state %s  parent %d  exit_code %d  counter %d  wake_tick %d\n"
              % (state_name(view.state), view.parent_pid, view.exit_code, view.counter, view.wake_tick))
        write("  kernel_stack 0x%x  trap_frame 0x%x\n" % (view.kernel_stack, view.trap_frame))
        if view.trap_frame:
            frame = mm_layout.View("mm_trap_frame", mm_target.read_kernel(
                view.trap_frame, mm_layout.sizeof("mm_trap_frame"), "trap frame"))
            write("  trap frame (EL0): elr 0x%x sp_el0 0x%x spsr 0x%x x0 0x%x x30 0x%x\n"
                  % (frame.elr, frame.sp_el0, frame.spsr, frame.x[0], frame.x[30]))
        context = view.context
        write("  context: pc 0x%x sp 0x%x fp 0x%x\n" % (context.pc, context.sp, context.fp))
        write("           " + " ".join("x%d=0x%x" % (n, getattr(context, "x%d" % n)) for n in range(19, 29)) + "\n")
        write("  mm.pgd 0x%x  mm.brk 0x%x\n" % (view.mm.pgd, view.mm.brk))
        tables = task.kernel_pages()
        write("  kernel_pages (%d): %s\n" % (len(tables), " ".join("0x%x" % pa for pa in tables)))
        pages = task.user_pages()
        write("  user_pages (%d):\n" % len(pages))
        for uva, pa, flags in pages:
            write("    0x%012x -> 0x%x  flags 0x%x\n" % (uva, pa, flags))


def register_commands():
    TasksCommand()
    TaskCommand()
