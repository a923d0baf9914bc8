#!/usr/bin/env bash
# Builds the bundled kernel: an AArch64 ELF with symbols at .build-kernel/kernel.elf
# (upper-half link address, loaded at PA 0x40200000).
#   scripts/build-kernel.sh                 # release build
#   MMDBG_KERNEL_DEFINES="-DMUTANT_NO_ROLLBACK" OUT=.build-kernel-mutant scripts/build-kernel.sh
#
# Debug info: -no-clang-module-breadcrumbs (toolset.json) keeps DWARF from
# pointing at clang module caches gdb cannot read (80 "Could not find DWO CU" lines).
#
# Two stages:
#   1. the EL0 user programs (Sources/UserPrograms): Embedded Swift + a small
#      C/assembly runtime, linked with Sources/UserPrograms/user.ld into
#      $OUT/user/<name>.elf (text at MM_TEXT_BASE, data at MM_DATA_BASE);
#   2. the kernel (SwiftPM, toolset.json), whose Sources/KernelSupport/
#      user_images.S embeds those ELF files with .incbin.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.build-kernel}"
mkdir -p "$out"
defines=(${MMDBG_KERNEL_DEFINES:-})
toolchain_bin="$(dirname "$(command -v swiftc)")"
clang="$toolchain_bin/clang"
lld="$toolchain_bin/ld.lld"

# ---- Stage 1: user programs ----------------------------------------------
user_src=Sources/UserPrograms
user_out="$out/user"
mkdir -p "$user_out"
user_cflags=(--target=aarch64-none-elf -ffreestanding -mgeneral-regs-only -fno-stack-protector
             -O2 -g -ffunction-sections -fdata-sections "${defines[@]}")
build_user_program() {  # $1 = program name = folder under Sources/UserPrograms
  local name="$1" objs=()
  for src in "$user_src"/Runtime/*.S "$user_src"/Runtime/*.c; do
    local obj="$user_out/$name-$(basename "$src").o"
    "$clang" "${user_cflags[@]}" -c "$src" -o "$obj"
    objs+=("$obj")
  done
  local swift_defines=()
  for d in "${defines[@]}"; do swift_defines+=("$d"); done
  swiftc -target aarch64-none-none-elf -enable-experimental-feature Embedded -wmo -Osize \
    -parse-as-library -module-name "$name" -g \
    -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
    -Xcc -mgeneral-regs-only -Xcc -ffreestanding \
    -I "$user_src/Runtime/include" "${swift_defines[@]}" \
    -c "$user_src/$name"/*.swift -o "$user_out/$name-swift.o"
  objs+=("$user_out/$name-swift.o")
  "$lld" -T "$user_src/user.ld" --gc-sections -z max-page-size=4096 -o "$user_out/$name.elf.new" "${objs[@]}"
  # Only a changed image touches the embedding stage: SwiftPM tracks the
  # .S file, not what it .incbin's.
  if ! cmp -s "$user_out/$name.elf.new" "$user_out/$name.elf"; then
    mv "$user_out/$name.elf.new" "$user_out/$name.elf"
    touch Sources/KernelSupport/user_images.S
  else
    rm "$user_out/$name.elf.new"
  fi
}
build_user_program Init

# ---- Stage 2: the kernel ---------------------------------------------------
extra=()
for d in "${defines[@]}"; do
  extra+=(-Xswiftc "$d" -Xcc "$d")
done
user_images_dir="$(cd "$user_out" && pwd)"
swift build -c release --triple aarch64-none-none-elf --toolset toolset.json \
  --scratch-path "$out/spm" --product Kernel -Xcc "-I$user_images_dir" "${extra[@]}" >&2
# lld concatenates the objects' .debug_names into one index gdb rejects
# ("length … does not match section length"): drop it, gdb indexes the DWARF itself.
"$toolchain_bin/llvm-objcopy" --remove-section=.debug_names "$out/spm/release/Kernel" "$out/kernel.elf"
echo "$out/kernel.elf"
