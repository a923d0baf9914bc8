import QEMULauncher

extension QEMUConfiguration {
    /// `kernel` stopped at its first instruction with a gdbstub on a free TCP
    /// port: how tests start a QEMU to attach a debugger to. Set `append`,
    /// `cpu`, `smp`… on the result as needed.
    public static func stoppedForDebugger(kernel: String) -> QEMUConfiguration {
        var configuration = QEMUConfiguration(kernel: kernel)
        configuration.gdb = .tcpFreePort
        configuration.stoppedAtEntry = true
        return configuration
    }
}
