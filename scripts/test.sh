#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the kernel images, then
# `swift test` (host unit tests, mock-stub and fake-target tests, and the
# system tests that boot the kernel under the real QEMU and drive
# gdb-multiarch).
#
#   scripts/test.sh            every test (CI runs exactly this: .ci/run)
#   scripts/test.sh --fast     the fast set: no QEMU, no gdb, no child process
#                              (suites named …SystemTests are skipped)
#   scripts/test.sh ARGS…      passed to `swift test` (e.g. --filter RunControl)
set -euo pipefail
cd "$(dirname "$0")/.."
# Swift lives in /opt/swift on this kind of machine; make it reachable.
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; shift; fi
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
swift build --build-tests
if [ "$fast" = 1 ]; then
  exec swift test --skip-build --skip SystemTests "$@"
fi
swift test --skip-build "$@"
