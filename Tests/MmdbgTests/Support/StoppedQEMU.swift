import QEMULauncher

/// QEMU booting `kernel`, stopped at its first instruction with a gdbstub on
/// a free TCP port: what tests attach a session or the binary to. The caller
/// stops it (`defer { qemu.stop() }`).
func launchQEMUStoppedAtEntry(kernel: String) throws -> QEMUInstance {
    var configuration = QEMUConfiguration(kernel: kernel)
    configuration.gdb = .tcpFreePort
    configuration.stoppedAtEntry = true
    return try QEMUInstance(configuration)
}
