#!/usr/bin/env python3
"""SMP figures (issue 19; a benchmark, not a test):
  1. QEMU start -> init's `[INIT] summary` (the default scenarios) on -smp 1, 2 and 4, median of N;
  2. the fork/exit storm rate: init's `fork1000` scenario (1000 forks over 4 workers) timed from
     init's banner to its [TEST] line, on 1 CPU against 4, under -icount (one thread, vCPUs round
     robin) and under multi-threaded TCG (-accel tcg,thread=multi), median of N.

    scripts/build-kernel.sh && scripts/bench-smp.py [runs=5]

Fails only if a boot does not reach its line within the deadline."""
import os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.environ.get("MMDBG_KERNEL", os.path.join(ROOT, ".build-kernel", "kernel.elf"))
DEADLINE_S = 300


def boot(cpus, append=None, accel=(), until="[INIT] summary:", start_at=None):
    """Seconds from QEMU start (or from the line starting with `start_at`) to the line starting with `until`."""
    cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "128M", "-smp", str(cpus),
           "-nographic", "-monitor", "none", "-kernel", KERNEL, *accel]
    if append:
        cmd += ["-append", append]
    start = time.monotonic()
    qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    origin, end, lines = (start if start_at is None else None), None, []
    try:
        for raw in qemu.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            now = time.monotonic()
            if origin is None and line.startswith(start_at):
                origin = now
            if end is None and line.startswith(until):
                end = now
            if now - start > DEADLINE_S:
                break
        qemu.wait(timeout=DEADLINE_S)
    finally:
        if qemu.poll() is None:
            qemu.kill()  # by PID: this script's own child
            qemu.wait()
    if end is None or origin is None:
        sys.exit("no %r within %d s on -smp %d; last lines:\n%s" % (until, DEADLINE_S, cpus, "\n".join(lines[-10:])))
    return end - origin


def median(samples):
    return statistics.median(samples), samples


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print("kernel: %s" % KERNEL)
    for cpus in (1, 2, 4):
        m, samples = median([boot(cpus) for _ in range(runs)])
        print("boot to [INIT] summary, -smp %d: median %.2f s of %d %s" % (cpus, m, runs, ["%.2f" % s for s in samples]))
    modes = [("icount shift=4", ("-icount", "shift=4,align=off,sleep=off")), ("tcg,thread=multi", ("-accel", "tcg,thread=multi"))]
    for name, accel in modes:
        rates = {}
        for cpus in (1, 4):
            m, samples = median([boot(cpus, "tests=fork1000", accel, until="[TEST] fork1000", start_at="[INIT] pid 1")
                                 for _ in range(runs)])
            rates[cpus] = 1000 / m
            print("fork1000 under %s, -smp %d: median %.2f s of %d %s = %.0f forks/s"
                  % (name, cpus, m, runs, ["%.2f" % s for s in samples], rates[cpus]))
        print("  4 CPUs / 1 CPU under %s: %.2fx" % (name, rates[4] / rates[1]))


if __name__ == "__main__":
    main()
