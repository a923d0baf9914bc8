#!/usr/bin/env python3
"""Kernel part 2 figures: time from QEMU start to init's summary line
(median of N boots under TCG), kernel image size, number of scenarios.

    scripts/build-kernel.sh && scripts/bench-init.py [runs=5] [-- extra -append text]

A benchmark, not a test: it prints figures and fails only if a boot does not
reach the summary within its deadline."""
import os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.environ.get("MMDBG_KERNEL", os.path.join(ROOT, ".build-kernel", "kernel.elf"))
DEADLINE_S = 60


def boot_once(append):
    cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a53", "-m", "128M",
           "-nographic", "-monitor", "none", "-kernel", KERNEL]
    if append:
        cmd += ["-append", append]
    start = time.monotonic()
    qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    summary_at, init_at, lines = None, None, []
    try:
        for raw in qemu.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            if init_at is None and line.startswith("[TASK] init:"):
                init_at = time.monotonic() - start
            if summary_at is None and line.startswith("[INIT] summary:"):
                summary_at = time.monotonic() - start
            if time.monotonic() - start > DEADLINE_S:
                break
        qemu.wait(timeout=DEADLINE_S)
        total = time.monotonic() - start
    finally:
        if qemu.poll() is None:
            qemu.kill()  # by PID, this process's own child
            qemu.wait()
    if summary_at is None:
        sys.exit("no [INIT] summary within %ss; output:\n%s" % (DEADLINE_S, "\n".join(lines[-20:])))
    return summary_at, total, lines, summary_at - (init_at or 0.0)


def main():
    args = sys.argv[1:]
    append = None
    if "--" in args:
        append = " ".join(args[args.index("--") + 1:])
        args = args[:args.index("--")]
    runs = int(args[0]) if args else 5
    results = [boot_once(append) for _ in range(runs)]
    to_summary = [r[0] for r in results]
    to_exit = [r[1] for r in results]
    lines = results[-1][2]
    tests = [l for l in lines if l.startswith("[TEST] ")]
    print("QEMU start -> [INIT] summary: median %.3f s (min %.3f, max %.3f, %d runs)"
          % (statistics.median(to_summary), min(to_summary), max(to_summary), runs))
    print("QEMU start -> exit (power off): median %.3f s" % statistics.median(to_exit))
    print("init loaded -> [INIT] summary (scenarios only): median %.3f s"
          % statistics.median([r[3] for r in results]))
    print("scenarios: %d run, %d ok" % (len(tests), sum(1 for t in tests if t.endswith(" ok"))))
    print("kernel image %s: %d bytes" % (os.path.relpath(KERNEL, ROOT), os.path.getsize(KERNEL)))
    user = os.path.join(os.path.dirname(KERNEL), "user", "Init.elf")
    if os.path.exists(user):
        print("embedded init ELF: %d bytes" % os.path.getsize(user))


if __name__ == "__main__":
    main()
