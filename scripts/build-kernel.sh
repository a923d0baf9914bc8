#!/usr/bin/env bash
# Builds the bundled kernel: an AArch64 ELF with symbols at .build-kernel/kernel.elf
# (upper-half link address, loaded at PA 0x40200000).
#   scripts/build-kernel.sh                 # release build
#   MMDBG_KERNEL_DEFINES="-DMUTANT_NO_ROLLBACK" OUT=.build-kernel-mutant scripts/build-kernel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.build-kernel}"
mkdir -p "$out"
extra=()
for d in ${MMDBG_KERNEL_DEFINES:-}; do
  extra+=(-Xswiftc "$d" -Xcc "$d")
done
swift build -c release --triple aarch64-none-none-elf --toolset toolset.json \
  --scratch-path "$out/spm" --product Kernel "${extra[@]}" >&2
cp "$out/spm/release/Kernel" "$out/kernel.elf"
echo "$out/kernel.elf"
