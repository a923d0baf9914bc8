// A host process that starts QEMU and then dies in a chosen way, so tests can
// check that QEMU never outlives it (QEMULauncher's signal handlers and watchdog).
//
//   qemu-launch-probe KERNEL PIDFILE [--no-watchdog] [--then wait|segv|fatal|abort]
//
// Writes "QEMU_PID WATCHDOG_PID" (0 when there is no watchdog) to PIDFILE once
// QEMU's gdbstub listens, then waits for a signal or crashes as asked.
import Foundation
import QEMULauncher
#if canImport(Glibc)
import Glibc
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: qemu-launch-probe KERNEL PIDFILE [--no-watchdog] [--then wait|segv|fatal|abort]\n".utf8))
    exit(2)
}
// Behave like a host started from a shell in the foreground: a test runner's
// thread may have signals blocked (posix_spawn passes its mask on) and a
// background shell ignores SIGINT; neither is what mmdbg meets.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)
signal(SIGINT, SIG_DFL)

let kernel = arguments.removeFirst(), pidFile = arguments.removeFirst()
var configuration = QEMUConfiguration(kernel: kernel)
configuration.stoppedAtEntry = true
configuration.gdb = .tcpFreePort
configuration.killWhenHostDies = !arguments.contains("--no-watchdog")
let ending = arguments.firstIndex(of: "--then").map { arguments[$0 + 1] } ?? "wait"

let qemu: QEMUInstance
do { qemu = try QEMUInstance(configuration) } catch {
    FileHandle.standardError.write(Data("qemu-launch-probe: \(error)\n".utf8))
    exit(1)
}
try! "\(qemu.pid) \(qemu.watchdogPID ?? 0)\n".write(toFile: pidFile + ".tmp", atomically: false, encoding: .utf8)
rename(pidFile + ".tmp", pidFile)

switch ending {
case "segv":
    UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
case "fatal":
    fatalError("qemu-launch-probe: crashing on purpose")
case "abort":
    abort()
default:
    while true { pause() }
}
withExtendedLifetime(qemu) {}
