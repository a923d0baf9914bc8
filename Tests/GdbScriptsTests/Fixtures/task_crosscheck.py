"""Test fixture (sourced into gdb after gdb/mmdbg.py): for every user page of
every task, prints what the mm- commands say and what QEMU says, one line:

    xcheck PID UVA RECORDED_PA VTOP_PID_PA VTOP_CPU_PA GVA2GPA_PA

VTOP_CPU_PA and GVA2GPA_PA translate through the CPU's TTBR0_EL1, so they
are given for the running task only ('-' otherwise). Unmapped is 'none'.
The test compares the columns; this file only collects them.
"""
import gdb

import mm_tasks


def _vtop(command):
    try:
        out = gdb.execute(command, to_string=True)
    except gdb.error:
        return "none"
    lines = [line for line in out.splitlines() if line.startswith("PA 0x")]
    return lines[-1][3:] if lines else "none"


def _gva2gpa(va):
    out = gdb.execute("monitor gva2gpa 0x%x" % va, to_string=True)
    if "Unmapped" in out:
        return "none"
    value = out.split("gpa:")[1].split()[0]
    return "0x%x" % int(value, 16)


def crosscheck_user_pages():
    current = mm_tasks.current_task_address()
    for task in mm_tasks.read_tasks():
        running = task.address == current
        for uva, pa, _ in task.user_pages():
            gdb.write("xcheck %d 0x%x 0x%x %s %s %s\n" % (
                task.pid, uva, pa, _vtop("mm-vtop 0x%x --pid %d" % (uva, task.pid)),
                _vtop("mm-vtop 0x%x" % uva) if running else "-", _gva2gpa(uva) if running else "-"))


def current_pid():
    current = mm_tasks.current_task_address()
    return [task.pid for task in mm_tasks.read_tasks() if task.address == current][0]
