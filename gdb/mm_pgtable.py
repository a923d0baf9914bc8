"""Page-table views: mm-pt (merged dump of an address space) and mm-vtop
(one translation, every level decoded).

Registers come from the selected frame (TCR_EL1, MAIR_EL1, TTBRn_EL1); tables
are read whole (one read per table, cached for the command) in QEMU's
physical-memory mode, entered once per command and always left.
"""
import gdb

import mm_aarch64 as A
import mm_target


def current_space(half):
    """The CPU's current TTBR0 or TTBR1 half."""
    ttbr = "TTBR1_EL1" if half == "ttbr1" else "TTBR0_EL1"
    try:
        return A.AddressSpace(mm_target.register("TCR_EL1"), half, mm_target.register(ttbr),
                              mair=mm_target.register("MAIR_EL1"), name=ttbr)
    except A.TranslationError as error:
        raise gdb.GdbError(str(error))


def table_space(table_pa, half, name):
    """Any table (e.g. a task's mm.pgd) walked with the CPU's TCR geometry for `half`."""
    try:
        return A.AddressSpace(mm_target.register("TCR_EL1"), half, table_pa,
                              mair=mm_target.register("MAIR_EL1"), name=name)
    except A.TranslationError as error:
        raise gdb.GdbError(str(error))


def physical_table_reader(pa, length):
    return mm_target.read_memory(pa, length, "translation table")


def walker(space):
    """A walker over `space` that reads tables physically; use inside mm_target.physical_memory()."""
    return A.TranslationTableWalker(space, physical_table_reader)


def walk(space, va_low=None, va_high=None, accept=None, keep_leaves=False):
    with mm_target.physical_memory():
        try:
            return walker(space).walk(va_low, va_high, accept, keep_leaves)
        except A.TranslationError as error:
            raise gdb.GdbError(str(error))


def translate(space, va):
    with mm_target.physical_memory():
        try:
            return walker(space).translate(va)
        except A.TranslationError as error:
            raise gdb.GdbError(str(error))


def spaces_for_target(target):
    """Address spaces named by an mm-pt/mm-vtop target word."""
    if target in (None, "all"):
        return [current_space("ttbr0"), current_space("ttbr1")]
    if target == "kernel":
        return [current_space("ttbr1")]
    if target == "user":
        return [current_space("ttbr0")]
    import mm_tasks
    task = mm_tasks.find_task(mm_target.parse_int(target, "pid"))
    return [mm_tasks.task_space(task)]


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
    """Translate a virtual address, decoding every level of the walk.

Usage: mm-vtop VA [PID]

VA is a number or gdb expression. Without PID, bit 55 of VA picks the CPU's
TTBR1_EL1 (kernel) or TTBR0_EL1 (user) tables; with PID, a user VA is
translated through that task's own mm.pgd, so tasks that are not running can
be inspected (kernel VAs always go through TTBR1_EL1). The last line is
`PA 0x...`; an unmapped VA prints the walk and fails."""

    def __init__(self):
        super().__init__("mm-vtop", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        if len(args) not in (1, 2):
            raise gdb.GdbError("usage: mm-vtop VA [PID]")
        va = mm_target.parse_int(args[0], "VA")
        half = "ttbr1" if va >> 55 & 1 else "ttbr0"
        if len(args) == 2 and half == "ttbr0":
            space = spaces_for_target(args[1])[0]
        else:
            space = current_space(half)
        steps, pa = translate(space, va)
        gdb.write("VA 0x%x via %s\n" % (va, space.describe()))
        for step in steps:
            gdb.write("  " + step_text(step, space) + "\n")
        if pa is None:
            raise gdb.GdbError("VA 0x%x is not mapped (level %d: %s)" % (va, steps[-1].level,
                                                                       steps[-1].problem or steps[-1].kind))
        gdb.write("PA 0x%x\n" % pa)


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
    target, raw, dump_filter = None, False, DumpFilter()
    args = gdb.string_to_argv(argument)
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--raw":
            raw = True
        elif word == "--user":
            dump_filter.user = True
        elif word == "--kernel":
            dump_filter.kernel = True
        elif word == "--writable":
            dump_filter.writable = True
        elif word == "--exec":
            dump_filter.executable = True
        elif word == "--range":
            if i + 2 >= len(args):
                raise gdb.GdbError("--range needs LOW and HIGH (end exclusive)")
            dump_filter.va_low = mm_target.parse_int(args[i + 1], "range start")
            dump_filter.va_high = mm_target.parse_int(args[i + 2], "range end")
            i += 2
        elif word.startswith("-"):
            raise gdb.GdbError("unknown option %s (see `help mm-pt`)" % word)
        elif target is None:
            target = word
        else:
            raise gdb.GdbError("more than one target: %s and %s" % (target, word))
        i += 1
    return target, raw, dump_filter


def statistics_text(result, runs):
    blocks, pages = result.statistics()
    tables = sum(len(pas) for pas in result.tables.values())
    per_level = ", ".join("L%d %d" % (level, len(result.tables[level])) for level in sorted(result.tables))
    block_text = ", ".join("L%d blocks %d" % (level, blocks[level]) for level in sorted(blocks)) or "blocks 0"
    return ("%d runs; %s, pages %d; tables %d (%s), %d bytes of tables"
            % (len(runs), block_text, pages, tables, per_level or "none", result.table_bytes))


class PtCommand(gdb.Command):
    """Dump an address space: one line per run of adjacent mappings with equal attributes.

Usage: mm-pt [all|kernel|user|PID] [--user] [--kernel] [--writable] [--exec]
             [--range LOW HIGH] [--raw]

  all (default)  the CPU's TTBR0_EL1 and TTBR1_EL1 halves
  kernel         TTBR1_EL1 (the kernel half)
  user           TTBR0_EL1 (the current user half)
  PID            that task's tables, from its mm.pgd
Filters: --user (EL0-accessible), --kernel (EL1 only), --writable, --exec,
--range LOW HIGH (VA, end exclusive).
A run merges leaves of one size that are adjacent in VA and PA with equal
permissions, memory type and flags (shown as `size = count x leaf size`);
with --range, runs are cut to the range. Attributes: k:EL1 perms, u:EL0 perms (rwx), memory
type through MAIR_EL1, shareability, AF, nG, NS, CONT. Malformed descriptors
are listed, never followed.
--raw prints one line per run, `START END PA ATTRS` (hex, END exclusive,
ATTRS one comma-separated token), and nothing else."""

    def __init__(self):
        super().__init__("mm-pt", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        target, raw, dump_filter = parse_pt_arguments(argument)
        for space in spaces_for_target(target):
            result = walk(space, dump_filter.va_low, dump_filter.va_high,
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
