"""Kernel structure layouts: decoding bytes with the generated layout
(gdb/mmdbg_layout.py, from kernel_abi.h) and checking it against the
`mm_layout` record the kernel exports.

Command: mm-layout.
"""
import struct

import gdb

import mm_target
import mmdbg_layout as L

_SCALAR_FORMATS = {("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "Q",
                   ("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "q"}


def sizeof(struct_name):
    return L.STRUCTS[struct_name][0]


def offsetof(struct_name, member):
    return L.STRUCTS[struct_name][1][member][0]


class View:
    """Read-only members of one C structure inside a bytes buffer.

    `view.pid`, `view.mm.pgd`, `view.mm.user_pages[3].pa`, `view.name` (str).
    """

    def __init__(self, struct_name, data, offset=0):
        if struct_name not in L.STRUCTS:
            raise gdb.GdbError("struct %s is not in kernel_abi.h" % struct_name)
        self._name, self._data, self._offset = struct_name, data, offset

    def _element(self, kind, size, offset):
        if kind.startswith("struct "):
            return View(kind.split()[1], self._data, offset)
        return struct.unpack_from("<" + _SCALAR_FORMATS[(kind, size)], self._data, offset)[0]

    def __getattr__(self, member):
        fields = L.STRUCTS[self._name][1]
        if member not in fields:
            raise AttributeError("struct %s has no member %s" % (self._name, member))
        offset, size, count, kind = fields[member]
        offset += self._offset
        if kind == "c":
            raw = bytes(self._data[offset:offset + count])
            return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        if count == 1:
            return self._element(kind, size, offset)
        return [self._element(kind, size, offset + i * size) for i in range(count)]


def read_array(symbol, struct_name, count):
    """`count` structures starting at a kernel symbol, read at once."""
    size = sizeof(struct_name)
    data = mm_target.read_kernel(mm_target.symbol_address(symbol), size * count, symbol)
    return [View(struct_name, data, i * size) for i in range(count)]


def read_struct(symbol, struct_name):
    return read_array(symbol, struct_name, 1)[0]


def expected_record():
    """The mm_layout record this extension was generated for, member by member."""
    return {
        "magic": L.MM_LAYOUT_MAGIC,
        "version": L.MM_LAYOUT_VERSION,
        "sizeof_task": sizeof("mm_task"),
        "sizeof_mm": sizeof("mm_struct"),
        "sizeof_user_page": sizeof("mm_user_page"),
        "offsetof_task_mm": offsetof("mm_task", "mm"),
        "offsetof_task_state": offsetof("mm_task", "state"),
        "offsetof_task_pid": offsetof("mm_task", "pid"),
        "offsetof_mm_user_pages": offsetof("mm_struct", "user_pages"),
        "offsetof_mm_brk": offsetof("mm_struct", "brk"),
        "nr_tasks": L.MM_NR_TASKS,
        "max_page_count": L.MM_MAX_PAGE_COUNT,
        "log_ring_size": L.MM_LOG_RING_SIZE,
        "sizeof_cpu": sizeof("mm_cpu"),
        "max_cpus": L.MM_MAX_CPUS,
    }


def compare_with_kernel():
    """(present, [mismatch lines]) for the kernel's exported mm_layout record."""
    try:
        mm_target.symbol_address("mm_layout")
    except gdb.GdbError:
        return False, []
    record = read_struct("mm_layout", "mm_layout_record")
    mismatches = []
    for member, expected in expected_record().items():
        actual = getattr(record, member)
        if actual != expected:
            mismatches.append("mm_layout.%s: kernel has %d (0x%x), gdb/mmdbg_layout.py has %d (0x%x)"
                              % (member, actual, actual, expected, expected))
    return True, mismatches


# Kernels already checked (by symbol file), so each is checked once, and a newly
# loaded kernel is checked again.
_checked = set()


def _kernel_key():
    return gdb.current_progspace().filename


def ensure_compatible():
    """Refuses to decode a kernel built from a different kernel_abi.h."""
    key = _kernel_key()
    if key in _checked:
        return
    mm_target.symbol_address("mm_tasks")   # no symbols loaded: say so before anything else
    present, mismatches = compare_with_kernel()
    if mismatches:
        raise gdb.GdbError("kernel layout differs from gdb/mmdbg_layout.py (rerun scripts/gen-gdb-layout "
                           "or rebuild the kernel): " + "; ".join(mismatches))
    if not present:
        gdb.write("warning: the kernel exports no mm_layout record; trusting gdb/mmdbg_layout.py\n", gdb.STDERR)
    _checked.add(key)


class LayoutCommand(gdb.Command):
    """Check the kernel's exported mm_layout record against gdb/mmdbg_layout.py.

Usage: mm-layout

Prints every member of the record with the value this extension was
generated with (from Sources/KernelABI/include/kernel_abi.h) and fails if
they disagree. (mmdbg checks the same record on attach; it has no command.)

Example:
  mm-layout"""

    def __init__(self):
        super().__init__("mm-layout", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("mm-layout takes no arguments")
        present, mismatches = compare_with_kernel()
        if not present:
            raise gdb.GdbError("the kernel exports no mm_layout record (symbol mm_layout not found)")
        record = read_struct("mm_layout", "mm_layout_record")
        for member, expected in expected_record().items():
            gdb.write("%-24s kernel 0x%-18x gdb 0x%x\n" % (member, getattr(record, member), expected))
        if mismatches:
            raise gdb.GdbError("layout mismatch: " + "; ".join(mismatches))
        gdb.write("mm-layout: kernel and gdb/mmdbg_layout.py agree (version %d)\n" % L.MM_LAYOUT_VERSION)
        _checked.add(_kernel_key())


def register_commands():
    LayoutCommand()
