"""The CPU's translation regime as mm_aarch64 address spaces, and walks of
them in guest physical memory.

Registers come from the selected frame (SCTLR (QEMU's name for SCTLR_EL1), TCR_EL1, MAIR_EL1,
TTBRn_EL1); tables are read whole (one read per table, cached for the
command) in QEMU's physical-memory mode, entered once per walk and always
left. mm_pgtable (mm-pt, mm-vtop), mm_tasks (a task's own tables) and
mm_check build on this module; it imports none of them.
"""
import gdb

import mm_aarch64 as A
import mm_target


def table_space(table_pa, half, name=None):
    """Any table (a TTBR value, or a task's mm.pgd) walked with the CPU's TCR geometry for `half`."""
    try:
        return A.AddressSpace(mm_target.register("TCR_EL1"), half, table_pa,
                              mair=mm_target.register("MAIR_EL1"), name=name,
                              sctlr=mm_target.register("SCTLR"))   # QEMU names SCTLR_EL1 "SCTLR"
    except A.TranslationError as error:
        raise gdb.GdbError(str(error))


def current_space(half):
    """The CPU's current TTBR0 or TTBR1 half."""
    ttbr = "TTBR1_EL1" if half == "ttbr1" else "TTBR0_EL1"
    return table_space(mm_target.register(ttbr), half, ttbr)


def physical_table_reader(pa, length):
    """Reads a table in physical mode; a table QEMU cannot read is reported by the walk, not fatal."""
    try:
        return mm_target.inferior().read_memory(pa, length).tobytes()
    except gdb.MemoryError as error:
        raise A.UnreadableTable(str(error))


def walker(space):
    """A walker over `space` that reads tables physically; use inside mm_target.physical_memory()."""
    return A.TranslationTableWalker(space, physical_table_reader)


def walk(space, va_low=None, va_high=None, accept=None, keep_leaves=False):
    """A breadth-first walk of `space` (mm_aarch64.WalkResult)."""
    with mm_target.physical_memory():
        try:
            return walker(space).walk(va_low, va_high, accept, keep_leaves)
        except A.TranslationError as error:
            raise gdb.GdbError(str(error))


def translate(space, va):
    """One VA through `space` (mm_aarch64.Translation)."""
    with mm_target.physical_memory():
        try:
            return walker(space).translate(va)
        except A.TranslationError as error:
            raise gdb.GdbError(str(error))
