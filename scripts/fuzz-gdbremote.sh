#!/usr/bin/env bash
# libFuzzer run over GdbRemote's codec and packet parsers.
#   scripts/fuzz-gdbremote.sh [seconds]      (default 60; corpus kept in .build/fuzz-gdbremote-corpus,
#   seeded from Fuzz/seeds: inputs whose first byte is >= 0x80 are client sessions, one reply per line)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build/fuzz-gdbremote
mkdir -p .build "$out-corpus"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name GdbRemote \
  $(find Sources/GdbRemote -name '*.swift') Fuzz/GdbRemoteFuzzer.swift -o "$out"
exec "$out" -max_total_time="$seconds" -max_len=4096 "$out-corpus" Fuzz/seeds
