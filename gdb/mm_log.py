"""The kernel log ring (`mm_log`, struct mm_log_ring): mm-log, like Linux's
lx-dmesg. Every UART line also lands in the ring, so the log is readable at
any stop without the serial console."""
import gdb

import mm_layout
import mm_target
import mmdbg_layout as L


def read_log():
    """The live window of the ring as text (the last min(head, size) bytes)."""
    mm_layout.ensure_compatible()
    address = mm_target.symbol_address("mm_log")
    data = mm_target.read_kernel(address, mm_layout.sizeof("mm_log_ring"), "mm_log")
    ring = mm_layout.View("mm_log_ring", data)
    if ring.magic != L.MM_LOG_MAGIC:
        raise gdb.GdbError("mm_log at 0x%x has magic 0x%x, expected 0x%x: not initialised or overwritten"
                           % (address, ring.magic, L.MM_LOG_MAGIC))
    if ring.size != L.MM_LOG_RING_SIZE:
        raise gdb.GdbError("mm_log.size is %d, kernel_abi.h says %d" % (ring.size, L.MM_LOG_RING_SIZE))
    buf_offset = mm_layout.offsetof("mm_log_ring", "buf")
    buf = data[buf_offset:buf_offset + ring.size]
    head, size = ring.head, ring.size
    if head <= size:
        window = buf[:head]
    else:
        start = head % size
        window = buf[start:] + buf[:start]
    return window.decode("utf-8", "replace"), head


class LogCommand(gdb.Command):
    """Print the kernel log ring (mm_log) (mmdbg: log).

Usage: mm-log [--last N]

Prints the live window of the ring: the last min(head, size) bytes the
kernel wrote, oldest first; with --last, only the last N lines (N >= 1).
When the ring has wrapped, the first line may be cut.

Examples:
  mm-log
  mm-log --last 20"""

    def __init__(self):
        super().__init__("mm-log", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        args, options = mm_target.parse_arguments(argument, "mm-log", valued=("last",))
        if args:
            raise gdb.GdbError("usage: mm-log [--last N]")
        last = mm_target.parse_count(options["last"], "last") if "last" in options else None
        text, head = read_log()
        if last is not None:
            text = "".join(text.splitlines(True)[-last:])
        gdb.write(text)
        if text and not text.endswith("\n"):
            gdb.write("\n")


def register_commands():
    LogCommand()
