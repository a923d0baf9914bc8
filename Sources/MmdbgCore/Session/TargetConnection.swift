import QEMULauncher

/// The session's link to one target: the connection, where it came from
/// (launched or attached), and the state the prompt shows. It knows nothing
/// of commands, symbols or breakpoints; `Session` owns those.
///
/// | state            | how it gets there                              | what works         |
/// |------------------|------------------------------------------------|--------------------|
/// | `detached`       | never attached                                 | `attach`           |
/// | `stopped`        | attach; a stop reported by run control          | everything         |
/// | `running`        | run control resumed the target                 | `interrupt`, Ctrl-C|
/// | `connectionLost` | a protocol call found the stub gone            | `attach` re-attaches |
/// | `exited`         | QEMU exited or was killed                      | `uart`, `quit`     |
public final class TargetConnection {
    /// How the session got its target, which decides what `quit` does.
    public enum Ownership: Equatable, Sendable {
        /// mmdbg started this QEMU: `quit` kills it.
        case launched
        /// mmdbg attached to someone else's QEMU: `quit` detaches and leaves it running.
        case attached
    }

    /// The live connection; nil when detached or after a lost connection.
    public private(set) var target: DebugTarget?
    /// The QEMU mmdbg started, if it did.
    public private(set) var launchedQEMU: QEMUInstance?
    public private(set) var ownership: Ownership = .attached
    /// The gdbstub address last attached to (for re-attach).
    public private(set) var address: String?
    /// What the prompt shows.
    public var state: TargetState = .detached
    /// `--qemu-pid` and `--ram-file`: where guest RAM is, for a target mmdbg did not launch.
    public var qemuPID: Int32?
    public var ramFile: String?
    /// False (`--memory gdbstub`): read guest memory only through the stub.
    public var directMemory = true
    private let connect: (ConnectRequest) throws(CommandError) -> DebugTarget

    init(connect: @escaping (ConnectRequest) throws(CommandError) -> DebugTarget) {
        self.connect = connect
    }

    /// Adopts a QEMU that mmdbg launched; `end()` will kill it.
    func adoptLaunched(_ qemu: QEMUInstance) {
        launchedQEMU = qemu
        ownership = .launched
        address = qemu.gdbAddress
    }

    /// Connects to `address`. A bad address must not cost the connection we
    /// have, so the old one is closed only once the new one is up.
    func open(_ address: String) throws(CommandError) -> DebugTarget {
        let ours = launchedQEMU.flatMap { $0.gdbAddress == address ? $0 : nil }
        let connection = try connect(ConnectRequest(address: address, launched: ours, qemuPID: qemuPID, ramFile: ramFile,
                                                    directMemory: directMemory))
        target?.close()
        target = connection
        self.address = address
        return connection
    }

    /// Ends the connection as the user chose: kill what we launched, detach from what we attached to.
    func end() {
        if let target {
            // Attached elsewhere after launching: that QEMU is not ours to stop.
            if ownership == .launched && address == launchedQEMU?.gdbAddress { target.close() } else { target.detach() }
        }
        launchedQEMU?.stop()
        target = nil
        state = .detached
    }

    /// Closes the connection without detaching (`disconnect`): the target stays as it is.
    func disconnect() {
        drop()
        state = .detached
    }

    /// The connection, or a one-line reason there is none.
    func require(for command: String) throws(CommandError) -> DebugTarget {
        if let qemu = launchedQEMU, !qemu.isRunning {
            if case .exited = state {} else { state = .exited("no longer running") }
            if case .exited(let why) = state { throw .qemuExited(why) }
        }
        guard let target else {
            if case .connectionLost(let why) = state { throw .connectionLost(why) }
            if case .exited(let why) = state { throw .qemuExited(why) }
            throw .unavailable("\(command): not attached to a target (use `attach HOST:PORT`)")
        }
        return target
    }

    /// Records a failure that means the connection or QEMU is gone.
    func noteFailure(_ error: CommandError) {
        switch error {
        case .connectionLost(let why):
            drop()
            state = .connectionLost(why)
        case .qemuExited(let why):
            drop()
            if case .exited = state {} else { state = .exited(why) }
        default: break
        }
    }

    /// Marks the target gone after a stop event that ended it.
    func noteGone(_ event: StopEvent) {
        drop()
        state = .exited(event.summary)
    }

    private func drop() {
        target?.close()
        target = nil
    }
}
