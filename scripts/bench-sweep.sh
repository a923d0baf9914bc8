#!/usr/bin/env bash
# Sweep figures (issue 17), printed side by side from one invocation:
#  1. runs per minute restoring a snapshot per run against booting per run, on the same
#     campaign (the fork test's get_free_page hits, the first N), and the ratio;
#  2. the whole get_free_page sweep of the kernel's own [TEST] run (every test, every task):
#     golden hits, runs after --prune, wall time with --jobs J.
#   scripts/bench-sweep.sh [N=32] [J=2] [--no-whole]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-32}"
jobs="${2:-2}"
mmdbg=.build/debug/mmdbg
[ -x "$mmdbg" ] || swift build --product mmdbg >/dev/null
[ -f .build-kernel/kernel.elf ] || scripts/build-kernel.sh >/dev/null
scratch=$(mktemp -d /tmp/mmdbg-bench-sweep.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# The last progress line's runs/min covers the runs only (the golden run is before it).
rate() { grep -o '[0-9.]* runs/min' "$1" | tail -1 | cut -d' ' -f1; }

for mode in snapshot boot; do
  extra=()
  [ "$mode" = boot ] && extra=(--boot-per-run)
  start=$(date +%s.%N)
  "$mmdbg" sweep --boot --append tests=fork --site get_free_page --pid 2 --max "$n" --jobs "$jobs" \
    --out "$scratch/$mode" --json "${extra[@]}" >"$scratch/$mode.json" 2>"$scratch/$mode.err" || true
  end=$(date +%s.%N)
  echo "$mode: $n runs, --jobs $jobs: $(rate "$scratch/$mode.err") runs/min (whole command $(echo "$end - $start" | bc) s)"
  python3 - "$scratch/$mode.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
secs = sorted(r["seconds"] for r in d["results"])
print("  outcomes:", {o: sum(1 for r in d["results"] if r["outcome"] == o) for o in sorted({r["outcome"] for r in d["results"]})},
      "methods:", {m: sum(1 for r in d["results"] if r.get("method") == m) for m in sorted({r.get("method") or "?" for r in d["results"]})})
print(f"  one run: median {secs[len(secs) // 2]:.2f} s (min {secs[0]:.2f}, max {secs[-1]:.2f}; a job's first snapshot run includes its boot)")
open(sys.argv[1] + ".median", "w").write(str(secs[len(secs) // 2]))
EOF
done
echo "snapshot / boot-per-run: $(echo "scale=2; $(rate "$scratch/snapshot.err") / $(rate "$scratch/boot.err")" | bc)x in runs/min, $(echo "scale=2; $(cat "$scratch/boot.json.median") / $(cat "$scratch/snapshot.json.median")" | bc)x in median run time (goal >= 5x)"
python3 - "$scratch/snapshot.json" "$scratch/boot.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = [(r["run"], r["outcome"], r["detail"]) for r in a["results"]] == [(r["run"], r["outcome"], r["detail"]) for r in b["results"]]
print("same outcomes run for run:", same)
EOF

if [ "${3:-}" != --no-whole ]; then
  start=$(date +%s.%N)
  "$mmdbg" sweep --boot --site get_free_page --prune --jobs "$jobs" --out "$scratch/whole" --json >"$scratch/whole.json" 2>"$scratch/whole.err" || true
  end=$(date +%s.%N)
  grep 'golden run [0-9]' "$scratch/whole.err" || true
  python3 - "$scratch/whole.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"whole [TEST] run: {d['goldenHits']} get_free_page hits, {d['campaignRuns']} runs after --prune,",
      f"{len([r for r in d['results'] if r['outcome'] not in ('ok', 'soft-failed', 'task-killed')])} finding(s)")
EOF
  echo "  wall time with --jobs $jobs: $(echo "$end - $start" | bc) s"
fi
