"""mmdbg for stock gdb-multiarch: the loader.

    gdb-multiarch -x gdb/connect.gdb          # connect, symbols, fault breakpoints, this file
    (gdb) source gdb/mmdbg.py                 # or load it by hand

Commands (each has `help mm-...`): mm-tasks, mm-task PID, mm-cpus, mm-pt, mm-vtop,
mm-check, mm-log, mm-fail, mm-layout. One module per topic sits beside this
file; structure layouts come from the generated gdb/mmdbg_layout.py.
"""
import os
import sys

import gdb

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import mm_check  # noqa: E402
import mm_cpus  # noqa: E402
import mm_fail  # noqa: E402
import mm_layout  # noqa: E402
import mm_log  # noqa: E402
import mm_pgtable  # noqa: E402
import mm_tasks  # noqa: E402

_TOPICS = (mm_layout, mm_pgtable, mm_tasks, mm_cpus, mm_log, mm_check, mm_fail)

# Sourcing the loader twice re-registers the commands instead of failing.
for _topic in _TOPICS:
    _topic.register_commands()
