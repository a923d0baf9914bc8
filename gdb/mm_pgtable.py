"""Page-table views: mm-pt (merged dump of an address space, like mmdbg's
`pt`) and mm-vtop (one translation, every level decoded, like `vtop`).

Address spaces and the physical-memory walks come from mm_space.
"""
import gdb

import mm_aarch64 as A
import mm_space
import mm_target
import mm_tasks


def spaces_for_target(target):
    """Address spaces named by an mm-pt target word (all, kernel, user, PID)."""
    if target in (None, "all"):
        return [mm_space.current_space("ttbr0"), mm_space.current_space("ttbr1")]
    if target == "kernel":
        return [mm_space.current_space("ttbr1")]
    if target == "user":
        return [mm_space.current_space("ttbr0")]
    return [mm_tasks.task_space(mm_tasks.find_task(mm_target.parse_int(target, "pid")))]


def step_text(step, space):
    head = "L%d[%3d] @0x%x = 0x%016x" % (step.level, step.index, step.entry_pa, step.descriptor)
    if step.problem:
        return "%s  %s: %s" % (head, step.kind, step.problem)
    if step.kind == "invalid":
        return "%s  invalid" % head
    if step.kind == "table":
        return "%s  table -> 0x%x" % (head, step.next_pa)
    size = A.size_text(1 << space.level_shift(step.level))
    return "%s  %s %s -> 0x%x  %s" % (head, step.kind, size, step.next_pa, step.attributes.text())


class VtopCommand(gdb.Command):
    """Translate a virtual address, decoding every level of the walk (mmdbg: vtop).

Usage: mm-vtop VA [--pid PID]

VA is a number or gdb expression. Without --pid, bit 55 of VA picks the CPU's
TTBR1_EL1 (kernel) or TTBR0_EL1 (user) tables; with --pid, a user VA is
translated through that task's own mm.pgd, so tasks that are not running can
be inspected (kernel VAs always go through TTBR1_EL1). The last line is
`PA 0x...`; a VA that does not translate prints the walk and fails with the
fault (translation, malformed descriptor, access flag, ...).

Examples:
  mm-vtop $pc
  mm-vtop 0x400000 --pid 1"""

    def __init__(self):
        super().__init__("mm-vtop", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        args, options = mm_target.parse_arguments(argument, "mm-vtop", valued=("pid",))
        if len(args) != 1:
            raise gdb.GdbError("usage: mm-vtop VA [--pid PID]")
        va = mm_target.parse_int(args[0], "VA")
        half = "ttbr1" if va >> 55 & 1 else "ttbr0"
        if "pid" in options and half == "ttbr0":
            space = mm_tasks.task_space(mm_tasks.find_task(mm_target.parse_int(options["pid"], "pid")))
        else:
            space = mm_space.current_space(half)
        translation = mm_space.translate(space, va)
        gdb.write("VA 0x%x via %s\n" % (va, space.describe()))
        for step in translation.steps:
            gdb.write("  " + step_text(step, space) + "\n")
        if not translation.mapped:
            raise gdb.GdbError("VA 0x%x is not mapped (%s)" % (va, translation.fault.text()))
        gdb.write("PA 0x%x\n" % translation.pa)


class DumpFilter:
    """The mm-pt filters, applied to each leaf."""

    def __init__(self):
        self.user = self.kernel = self.writable = self.executable = False
        self.va_low = self.va_high = None

    @property
    def active(self):
        return self.user or self.kernel or self.writable or self.executable

    def accepts(self, attributes):
        if self.user and not attributes.user:
            return False
        if self.kernel and attributes.user:
            return False
        if self.writable and not attributes.writable:
            return False
        if self.executable and not attributes.executable:
            return False
        return True


def parse_pt_arguments(argument):
    args, options = mm_target.parse_arguments(
        argument, "mm-pt", flags=("raw", "user", "kernel-only", "writable", "exec"), valued=("from", "to"))
    if len(args) > 1:
        raise gdb.GdbError("more than one target: %s (see `help mm-pt`)" % " and ".join(args))
    dump_filter = DumpFilter()
    dump_filter.user = "user" in options
    dump_filter.kernel = "kernel-only" in options
    if dump_filter.user and dump_filter.kernel:
        raise gdb.GdbError("--user and --kernel-only exclude each other")
    dump_filter.writable = "writable" in options
    dump_filter.executable = "exec" in options
    if "from" in options or "to" in options:
        dump_filter.va_low = mm_target.parse_int(options["from"], "--from VA") if "from" in options else 0
        dump_filter.va_high = mm_target.parse_int(options["to"], "--to VA") if "to" in options else 1 << 64
        # --to is exclusive: `--to 0` is an empty range, not the whole address space.
        if dump_filter.va_low >= dump_filter.va_high:
            raise gdb.GdbError("--to must be above 0 (it is exclusive)" if "from" not in options
                               else "--from must be below --to (--to is exclusive)")
    return (args[0] if args else None), "raw" in options, dump_filter


def statistics_text(result, runs):
    blocks, pages = result.statistics()
    tables = sum(len(pas) for pas in result.tables.values())
    per_level = ", ".join("L%d %d" % (level, len(result.tables[level])) for level in sorted(result.tables))
    block_text = ", ".join("L%d blocks %d" % (level, blocks[level]) for level in sorted(blocks)) or "blocks 0"
    return ("%d runs; %s, pages %d; tables %d (%s), %d bytes of tables"
            % (len(runs), block_text, pages, tables, per_level or "none", result.table_bytes))


class PtCommand(gdb.Command):
    """Dump an address space: one line per run of adjacent mappings with equal attributes.

Usage: mm-pt [all|kernel|user|PID] [--user|--kernel-only] [--writable] [--exec]
             [--from VA] [--to VA] [--raw]

  all (default)  the CPU's TTBR0_EL1 and TTBR1_EL1 halves
  kernel         TTBR1_EL1 (the kernel half)
  user           TTBR0_EL1 (the current user half)
  PID            that task's tables, from its mm.pgd
Filters (as mmdbg's `pt`): --user (EL0-accessible), --kernel-only (EL1 only),
--writable, --exec, --from VA and --to VA (--to exclusive).
A run merges leaves of one size that are adjacent in VA and PA with equal
attribute bits and table limits, as mmdbg's dump does (shown as `size = count
x leaf size`); with --from/--to, runs are cut to the range. Attributes: k:EL1
perms, u:EL0 perms (rwx), memory type through MAIR_EL1, shareability, AF, nG,
NS, CONT, DBM. Malformed descriptors, unreadable tables and tables named twice
(repeated or a loop) are listed, never followed.
--raw prints one line per run, `START END PA ATTRS` (hex, END exclusive,
ATTRS one comma-separated token), and nothing else.

Examples:
  mm-pt kernel
  mm-pt 1 --user --writable
  mm-pt --from 0x400000 --to 0x2000000 --raw"""

    def __init__(self):
        super().__init__("mm-pt", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        target, raw, dump_filter = parse_pt_arguments(argument)
        for space in spaces_for_target(target):
            result = mm_space.walk(space, dump_filter.va_low, dump_filter.va_high,
                          dump_filter.accepts if dump_filter.active else None)
            runs = result.runs
            if dump_filter.va_low is not None:
                for run in runs:
                    run.clip(dump_filter.va_low, dump_filter.va_high)
            if raw:
                gdb.write("".join(run.raw_line() + "\n" for run in runs))
                continue
            gdb.write(space.describe() + "\n")
            for run in runs:
                gdb.write("  0x%016x-0x%016x -> 0x%012x %6s = %5d x %-4s %s\n"
                          % (run.start, run.end, run.pa, A.size_text(run.end - run.start), run.leaves,
                             A.size_text(run.leaf_size), run.attributes.text()))
            for problem in result.problems:
                gdb.write("  MALFORMED " + problem.text() + "\n")
            gdb.write("  " + statistics_text(result, runs) + "\n")


def register_commands():
    VtopCommand()
    PtCommand()
