import Foundation
import QEMULauncher

/// Shows a progress line for work that takes longer than half a second.
public protocol ProgressSink: AnyObject {
    func begin(_ what: String)
    func end()
}

/// Everything one debugging session knows: the connection, the ELF symbols,
/// breakpoints, snapshots, and the QEMU it launched (if any). Commands run
/// through `execute(line:)`, which never throws and never traps: a bad line
/// becomes a failed `CommandResult` with one error line, and nothing the
/// session already learned is lost.
public final class Session: ExpressionContext {
    /// How the session got its target, which decides what `quit` does.
    public enum Ownership: Equatable, Sendable {
        /// mmdbg started this QEMU: `quit` kills it.
        case launched
        /// mmdbg attached to someone else's QEMU: `quit` detaches and leaves it running.
        case attached
    }

    /// The commands this session understands (extensible).
    public let registry: CommandRegistry
    /// The live connection; nil when detached or after a lost connection.
    public private(set) var target: DebugTarget?
    /// ELF symbols for expressions, locations and completion (nil without an ELF).
    public var symbols: SymbolTable?
    /// The QEMU mmdbg started, if it did.
    public private(set) var launchedQEMU: QEMUInstance?
    /// Decides what `quit` does with QEMU.
    public private(set) var ownership: Ownership = .attached
    /// The gdbstub address last attached to (for re-attach).
    public private(set) var address: String?
    /// What the prompt shows.
    public private(set) var state: TargetState = .detached
    /// The user's breakpoints; kept across a lost connection and restored on re-attach.
    public var breakpoints = BreakpointTable()
    /// Opens a connection to a gdbstub address (`host:port` or a socket path).
    /// Nil when the build has no protocol client.
    public var connector: ((String) throws(CommandError) -> DebugTarget)?
    /// Polled while the target runs; true means the user pressed Ctrl-C.
    public var interruptRequested: () -> Bool = { false }
    /// Where progress lines go (stderr in the executable; nil = none).
    public var progress: ProgressSink?
    /// Values learned while the target is stopped; dropped when it resumes.
    public private(set) var registerCache: [String: UInt64] = [:]
    /// Extra state other modules keep per session (fault injection, …).
    public var extensions: [String: AnyObject] = [:]
    /// True at the prompt: run control then waits without a deadline (Ctrl-C interrupts).
    public var interactive = false
    /// Default deadline for run control in non-interactive use (seconds).
    public var runTimeout: Double = 30

    public init(registry: CommandRegistry) {
        self.registry = registry
    }

    // MARK: running commands

    /// Runs one line of the command language. Empty lines and comments give
    /// an empty successful result.
    public func execute(line: String) -> CommandResult {
        let tokens: [Token]
        do { tokens = try Tokenizer.tokenize(line) } catch {
            return CommandResult(line: line, command: nil, outcome: .failure(error))
        }
        guard case .word(let name)? = tokens.first else {
            if tokens.isEmpty {
                return CommandResult(line: line, command: nil, outcome: .success(CommandOutput(blocks: [], json: .null)))
            }
            return CommandResult(line: line, command: nil, outcome: .failure(.syntax("a line must start with a command name")))
        }
        let spec: CommandSpec
        do { spec = try registry.resolve(name) } catch {
            return CommandResult(line: line, command: nil, outcome: .failure(error))
        }
        quitRequested = false
        let outcome: Result<CommandOutput, CommandError>
        do {
            let arguments = try CommandArguments(tokens: Array(tokens.dropFirst()), spec: spec, invokedAs: name)
            outcome = .success(try spec.handler(arguments, self))
        } catch {
            noteFailure(error)
            outcome = .failure(error)
        }
        return CommandResult(line: line, command: spec.name, outcome: outcome, endsSession: quitRequested)
    }

    /// Set by `quit`'s handler.
    public var quitRequested = false

    // MARK: target lifecycle

    /// Adopts a QEMU that mmdbg launched; `quit` will kill it.
    public func adoptLaunched(_ qemu: QEMUInstance) {
        launchedQEMU = qemu
        ownership = .launched
        address = qemu.gdbAddress
    }

    /// Connects to `address` through the connector and records the stop state.
    public func attach(to address: String) throws(CommandError) {
        guard let connector else {
            throw .notAvailableYet(command: "attach", reason: "the GdbRemote client is not in this build")
        }
        // Connect first: a bad address must not cost the connection we have.
        let connection = try connector(address)
        target?.close()
        target = connection
        self.address = address
        invalidateCaches()
        try refreshStopState(reason: "attached")
        try restoreBreakpoints(on: connection)
    }

    /// Puts the session's breakpoints into a (re-)attached stub. QEMU keeps
    /// breakpoints across connections and counts insertions, so each is
    /// removed first: the stub ends up with exactly one of each either way.
    private func restoreBreakpoints(on target: DebugTarget) throws(CommandError) {
        for entry in breakpoints.entries {
            try? target.removeBreakpoint(entry.kind, at: entry.address, length: entry.length)
            try target.insertBreakpoint(entry.kind, at: entry.address, length: entry.length)
        }
    }

    /// Re-attaches to the last address after a lost connection.
    public func reattach() throws(CommandError) {
        guard let address else { throw .unavailable("nothing to re-attach to: use `attach HOST:PORT`") }
        try attach(to: address)
    }

    /// Ends the session as the user chose: kill what we launched, detach from what we attached to.
    public func end() {
        if let target {
            // Attached elsewhere after launching: that QEMU is not ours to stop.
            if ownership == .launched && address == launchedQEMU?.gdbAddress { target.close() } else { target.detach() }
        }
        launchedQEMU?.stop()
        target = nil
        state = .detached
    }

    /// The connection, or a one-line reason there is none.
    public func requireTarget(for command: String) throws(CommandError) -> DebugTarget {
        if let qemu = launchedQEMU, !qemu.isRunning {
            if case .exited = state {} else { state = .exited("no longer running") }
            if case .exited(let why) = state { throw .qemuExited(why) }
        }
        guard let target else {
            if connector == nil {
                throw .notAvailableYet(command: command, reason: "the GdbRemote client is not in this build")
            }
            if case .connectionLost(let why) = state { throw .connectionLost(why) }
            if case .exited(let why) = state { throw .qemuExited(why) }
            throw .unavailable("\(command): not attached to a target (use `attach HOST:PORT`)")
        }
        return target
    }

    /// The connection, with the target stopped (most commands read state).
    public func requireStoppedTarget(for command: String) throws(CommandError) -> DebugTarget {
        let target = try requireTarget(for: command)
        if state == .running {
            throw .unavailable("\(command): the target is running (use `interrupt` first)")
        }
        return target
    }

    /// Records a failure that means the connection or QEMU is gone.
    private func noteFailure(_ error: CommandError) {
        switch error {
        case .connectionLost(let why):
            target?.close()
            target = nil
            state = .connectionLost(why)
        case .qemuExited(let why):
            target?.close()
            target = nil
            if case .exited = state {} else { state = .exited(why) }
        default: break
        }
    }

    /// Forgets everything learned from the stopped target (it resumed or was written).
    public func invalidateCaches() {
        registerCache.removeAll()
        for case let cache as SessionCache in extensions.values { cache.invalidate() }
    }

    /// Called after the target stopped: reads PC and updates the prompt state.
    /// `task` comes from `currentTask` (set by the kernel-view wiring).
    public func refreshStopState(reason: String) throws(CommandError) {
        invalidateCaches()
        let pc = try registerValue("pc")
        let location = symbols?.describe(pc)
        let task = try? currentTask?()
        state = .stopped(pc: pc, location: location, task: task ?? nil, reason: reason)
        kernelViews?.targetStopped()
    }

    /// Decodes a system register into named fields (`T0SZ` → `16`); nil if
    /// the register has no decoder. Set by the Inspect wiring.
    public var registerDecoder: ((String, UInt64) throws(CommandError) -> [(String, String)]?)?

    /// Task, page-table and log views (Inspect). Nil until wired.
    public var kernelViews: KernelViews?

    /// The kernel views, or a one-line reason they are missing.
    public func requireKernelViews(for command: String) throws(CommandError) -> KernelViews {
        guard let kernelViews else {
            throw .notAvailableYet(command: command, reason: "needs the Inspect module (page tables, tasks, log)")
        }
        _ = try requireStoppedTarget(for: command)
        return kernelViews
    }

    /// Guest memory by virtual address for commands (`x`, `finish`): through the
    /// kernel views' device-memory guard when they are wired, else the stub's read.
    public func readVirtualMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
        let target = try requireStoppedTarget(for: "reading memory")
        guard let kernelViews else { return try target.readMemory(at: address, count: count, physical: false) }
        return try kernelViews.readVirtualMemory(at: address, count: count)
    }

    /// Reads the current task's pid; set when kernel structures can be decoded.
    public var currentTask: (() throws(CommandError) -> Int?)?

    /// Marks the target stopped before its state is read (the PC comes next).
    public func noteStopped(reason: String) {
        invalidateCaches()
        state = .stopped(pc: 0, location: nil, task: nil, reason: reason)
    }

    /// Marks the target running (after resume) and drops caches.
    public func noteResumed() {
        invalidateCaches()
        state = .running
    }

    /// Marks the target gone after a stop event that ended it.
    public func noteGone(_ event: StopEvent) {
        target?.close()
        target = nil
        state = .exited(event.summary)
    }

    // MARK: ExpressionContext

    /// A register of the stopped target, cached until it resumes.
    public func registerValue(_ name: String) throws(CommandError) -> UInt64 {
        let key = name.lowercased()
        if let cached = registerCache[key] { return cached }
        let target = try requireStoppedTarget(for: "$\(name)")
        let value = try target.readRegisters([name])[0]
        registerCache[key] = value
        return value
    }

    /// An ELF symbol's address, or a one-line reason.
    public func symbolAddress(_ name: String) throws(CommandError) -> UInt64 {
        guard let symbols else {
            throw .unavailable("no ELF loaded: cannot resolve symbol \"\(name)\" (give an address, or --elf FILE)")
        }
        guard let address = symbols.address(of: name) else { throw .unknownSymbol(name) }
        return address
    }

    /// Evaluates an address expression argument.
    public func evaluate(_ text: String) throws(CommandError) -> UInt64 {
        try AddressExpression(parsing: text).evaluate(in: self)
    }

    /// Runs `body` with a progress line shown if it takes over half a second.
    public func withProgress<T>(_ what: String, _ body: () throws(CommandError) -> T) throws(CommandError) -> T {
        progress?.begin(what)
        defer { progress?.end() }
        return try body()
    }
}

/// Per-session caches other modules keep in `Session.extensions`; dropped
/// whenever the target resumes.
public protocol SessionCache: AnyObject {
    func invalidate()
}
