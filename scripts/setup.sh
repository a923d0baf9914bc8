#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian machine (as root), only
# when something is missing: QEMU for AArch64, gdb-multiarch, libreadline,
# libdw (elfutils: DWARF) and Capstone (disassembly).
set -euo pipefail
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
command -v qemu-img >/dev/null || need+=(qemu-utils)   # mmdbg sweep: the snapshots' scratch qcow2 drive
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)
[ -e /usr/include/readline/readline.h ] || need+=(libreadline-dev)
[ -e /usr/include/elfutils/libdw.h ] || need+=(libdw-dev)
[ -e /usr/include/capstone/capstone.h ] || need+=(libcapstone-dev)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)   # the DAP tests' second opinion (below)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
# The DAP tests' second opinion: an independent DAP client library from PyPI (`dap-python`).
if command -v python3 >/dev/null && ! python3 -c 'import dap.client' 2>/dev/null; then
  echo "setup: installing the dap-python client library (pip --user)" >&2
  python3 -m pip install -q --user dap-python >&2 || python3 -m pip install -q --user --break-system-packages dap-python >&2 || true
fi
# The toolchain image puts swift in /opt/swift/usr/bin without always adding it
# to PATH. Callers that source this script keep the PATH; scripts/test.sh does.
if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
  echo "setup: swift found in /opt/swift/usr/bin (added to PATH)" >&2
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH and not in /opt/swift/usr/bin: install a Swift 6 toolchain" >&2; exit 1; }
