#!/usr/bin/env bash
# Source-level debugging speed against gdb-multiarch, in one run (issue 13):
# first `bt` whole process, round trips per `bt`, and load time / peak memory
# on a large DWARF file, and typed data (print/ptype) the same way: Debian's arm64 cloud kernel debug image (a 260 MB
# download, unpacked once into ${XDG_CACHE_HOME:-~/.cache}/mmdbg).
#   scripts/bench-debuginfo.sh [--runs N] [--no-large]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
swift build -c release --product mmdbg >/dev/null
swift build -c release --product debuginfo-bench >/dev/null
args=()
large=1
for a in "$@"; do
  if [ "$a" = "--no-large" ]; then large=0; else args+=("$a"); fi
done
if [ "$large" = 1 ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/mmdbg"
  mkdir -p "$cache"
  vmlinux=$(ls "$cache"/usr/lib/debug/boot/vmlinux-* 2>/dev/null | head -1 || true)
  if [ -z "$vmlinux" ]; then
    mirror=http://deb.debian.org/debian
    # The newest linux-image-*-cloud-arm64-dbg in bookworm's arm64 package list.
    pool=$(curl -fsSL "$mirror/dists/bookworm/main/binary-arm64/Packages.xz" | xz -dc \
      | awk '/^Package: linux-image-[0-9].*-cloud-arm64-dbg$/ {p=1} p && /^Filename:/ {print $2; p=0}' | sort -V | tail -1)
    echo "downloading $mirror/$pool" >&2
    curl -fL -o "$cache/linux-dbg.deb" "$mirror/$pool"
    (cd "$cache" && dpkg-deb --fsys-tarfile linux-dbg.deb | tar -x --wildcards './usr/lib/debug/boot/vmlinux-*')
    rm -f "$cache/linux-dbg.deb"
    vmlinux=$(ls "$cache"/usr/lib/debug/boot/vmlinux-* | head -1)
  fi
  args+=(--large-elf "$vmlinux")
fi
exec .build/release/debuginfo-bench "${args[@]}"
