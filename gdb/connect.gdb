# gdb/connect.gdb: the common start for stock gdb-multiarch, run from the
# repository root.
#
#   qemu-system-aarch64 -M virt -cpu cortex-a53 -m 128M -nographic \
#       -kernel .build-kernel/kernel.elf -gdb tcp:127.0.0.1:1234 -S
#   gdb-multiarch -x gdb/connect.gdb
#   gdb-multiarch -ex 'set $mm_port = 4321' -x gdb/connect.gdb      # another port
#   gdb-multiarch -ex 'set $mm_kernel = "/path/kernel.elf"' -x gdb/connect.gdb
#
# Loads the kernel's symbols ($mm_kernel, default .build-kernel/kernel.elf) and the mm- commands (gdb/mmdbg.py), connects to
# QEMU's gdbstub on 127.0.0.1:$mm_port (default 1234, QEMU's `-s`), and
# breaks on the kernel's fault handlers.
set pagination off
set confirm off
set architecture aarch64
if $_isvoid($mm_kernel)
  file .build-kernel/kernel.elf
else
  eval "file %s", $mm_kernel
end
source gdb/mmdbg.py

if $_isvoid($mm_port)
  set $mm_port = 1234
end
eval "target remote 127.0.0.1:%d", $mm_port

# The handlers arrive with the kernel's memory management; until a kernel
# has them, the breakpoints stay pending instead of aborting this script.
set breakpoint pending on
break do_data_abort
break do_instruction_abort
break do_el0_sync_fault
set breakpoint pending auto
