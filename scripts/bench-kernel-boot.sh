#!/usr/bin/env bash
# Kernel figures: image size and the median of N (default 5) QEMU
# start-to-power-off times under TCG, for each linear-map mode.
#   scripts/bench-kernel-boot.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
kernel=.build-kernel/kernel.elf
[ -f "$kernel" ] || scripts/build-kernel.sh >/dev/null
echo "image: $kernel $(stat -c %s "$kernel") bytes (file), loadable: $(llvm-size -A "$kernel" 2>/dev/null | awk '$1 ~ /^\.(text|rodata|data|eh_frame)$/ {s += $2} END {print s}') bytes, with bss: $(llvm-size "$kernel" | awk 'NR==2 {print $4}') bytes"
for append in "" "linear=pages"; do
  times=()
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    timeout 60 qemu-system-aarch64 -M virt -cpu cortex-a53 -m 128M -display none -monitor none -serial null \
      -kernel "$kernel" ${append:+-append "$append"}
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "boot to power-off (${append:-default}): median ${median} ms of ${runs} [${times[*]}]"
done
