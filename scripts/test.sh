#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the kernel images, then
# `swift test` (host unit tests, mock-stub tests, and the end-to-end tests
# that boot the kernel under the real QEMU and drive gdb-multiarch).
set -euo pipefail
cd "$(dirname "$0")/.."
# Swift lives in /opt/swift on this kind of machine; make it reachable.
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
swift build --build-tests
swift test "$@"
