#!/usr/bin/env bash
# print's expression language under generated inputs (issue 14): COUNT inputs (default 1,000,000)
# grown from a grammar over the kernel's own names, mutated, and raw bytes, through the parser, the
# evaluator and both formatters, against the kernel ELF's DWARF and initialised data. Fails on a
# trap or on an error that is not one short line. Release build: about 10x the debug build's speed.
#   scripts/fuzz-expressions.sh [COUNT] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
swift build -c release --product expression-fuzz >/dev/null
exec .build/release/expression-fuzz --count "${1:-1000000}" --seed "${2:-2026}"
