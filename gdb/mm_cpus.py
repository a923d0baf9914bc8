"""CPUs: mm-cpus (each CPU as the kernel and the vCPU see it).

The kernel's view is `mm_cpus[mm_cpu_count]` (struct mm_cpu: current task,
state, ticks, IPIs); the vCPU's is its registers, read from gdb's thread for
that CPU (QEMU's stub gives one thread per vCPU, in CPU order, which is the
kernel's mm_cpus order on -M virt).
"""
import gdb

import mm_layout
import mm_target
import mm_tasks
import mmdbg_layout as L

CPU_STATES = {L.MM_CPU_OFFLINE: "offline", L.MM_CPU_IDLE: "idle", L.MM_CPU_BUSY: "busy"}


def read_cpus():
    """[(index, view)] of the CPUs the kernel started (mm_cpu_count of them)."""
    mm_layout.ensure_compatible()
    count = int.from_bytes(mm_target.read_kernel(mm_target.symbol_address("mm_cpu_count"), 8, "mm_cpu_count"), "little")
    count = max(1, min(count, L.MM_MAX_CPUS))
    return list(enumerate(mm_layout.read_array("mm_cpus", "mm_cpu", L.MM_MAX_CPUS)[:count]))


def thread_registers(thread):
    """(pc, cpsr, ttbr0, ttbr1) of one vCPU, read with its thread selected."""
    previous = gdb.selected_thread()
    try:
        thread.switch()
        frame = gdb.newest_frame()
        def reg(name):
            return int(frame.read_register(name)) & (2**64 - 1)
        return reg("pc"), reg("cpsr"), reg("TTBR0_EL1"), reg("TTBR1_EL1")
    finally:
        if previous is not None and previous.is_valid():
            previous.switch()


class CpusCommand(gdb.Command):
    """List each CPU: the kernel's mm_cpus[] entry and the vCPU's registers.

Usage: mm-cpus

Columns: CPU index (mm_cpus order = gdb thread number - 1), kernel state
(idle, busy, offline), pid and name of its current task, timer ticks and
reschedule IPIs it took, then the vCPU's exception level, PC, TTBR0 with its
ASID, TTBR1 and the IRQ mask (PSTATE.I). mmdbg: cpus.

Example:
  mm-cpus"""

    def __init__(self):
        super().__init__("mm-cpus", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        if argument.strip():
            raise gdb.GdbError("mm-cpus takes no arguments")
        cpus = read_cpus()
        tasks = {task.address: task for task in mm_tasks.read_tasks()}
        threads = sorted(mm_target.inferior().threads(), key=lambda t: t.num)
        gdb.write("%-3s %-7s %5s %-16s %7s %5s %-3s %-18s %-18s %4s %-18s %s\n"
                  % ("CPU", "STATE", "PID", "TASK", "TICKS", "IPIS", "EL", "PC", "TTBR0", "ASID", "TTBR1", "IRQ"))
        for index, view in cpus:
            task = tasks.get(view.current)
            pid = "%d" % task.pid if task else "-"
            name = (task.view.name or "-") if task else "-"
            line = "%-3d %-7s %5s %-16s %7d %5d" % (index, CPU_STATES.get(view.state, "state%d" % view.state),
                                                    pid, name, view.ticks, view.ipis)
            if index < len(threads):
                pc, cpsr, ttbr0, ttbr1 = thread_registers(threads[index])
                line += " %-3s 0x%016x 0x%016x %4d 0x%016x %s" % (
                    "EL%d" % ((cpsr >> 2) & 3), pc, ttbr0 & 0x0000FFFFFFFFFFFE, ttbr0 >> 48, ttbr1,
                    "masked" if cpsr & (1 << 7) else "on")
            gdb.write(line + "\n")
        gdb.write("%d cpus\n" % len(cpus))


def register_commands():
    CpusCommand()
