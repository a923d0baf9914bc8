import DebugInfo
import Foundation
import QEMULauncher

/// Shows a progress line for work that takes longer than half a second.
public protocol ProgressSink: AnyObject {
    func begin(_ what: String)
    func end()
}

/// Everything one debugging session knows: the target connection, the ELF
/// symbols, breakpoints, the kernel views and the run-control engine.
/// Commands run through `execute(line:)`, which never throws and never traps:
/// a bad line becomes a failed `CommandResult` with one error line, and
/// nothing the session already learned is lost.
///
///     let session = Session(registry: FaultCommands.makeRegistry())   // services: .standard
///     try session.attachLaunched(qemu, elf: kernel)
///     let result = session.execute(line: "vtop $pc")
public final class Session: ExpressionContext {
    /// The commands this session understands (extensible).
    public let registry: CommandRegistry
    /// What the session is built from (connections, symbols, kernel views).
    public let services: SessionServices
    /// The link to the target and its state.
    public let connection: TargetConnection
    /// Task, page-table and log views over the target.
    public private(set) lazy var kernelViews: KernelViews = services.makeKernelViews(self)
    /// The one resume-and-wait engine (commands, fault driver, scenarios).
    public private(set) lazy var runControl = RunControl(session: self)
    /// ELF symbols for expressions, locations and completion (nil without an ELF).
    public var symbols: SymbolTable?
    /// The user's breakpoints; kept across a lost connection and restored on re-attach.
    public var breakpoints = BreakpointTable()
    /// Polled while the target runs; true means the user pressed Ctrl-C.
    public var interruptRequested: () -> Bool = { false }
    /// Where progress lines go (stderr in the executable; nil = none).
    public var progress: ProgressSink?
    /// Extra state other modules keep per session (fault injection, …).
    public var extensions: [String: AnyObject] = [:]
    /// True at the prompt: run control then waits without a deadline (Ctrl-C interrupts).
    public var interactive = false
    /// Default deadline for run control in non-interactive use (seconds).
    public var runTimeout: Double = 30
    /// Set by `quit`'s handler.
    public var quitRequested = false
    /// The last protocol failure with its packet ring (`show last-error`); kept after the connection is gone.
    public private(set) var lastProtocolError: ProtocolErrorRecord?
    /// Registers learned while the target is stopped; dropped when it resumes.
    public private(set) var registerCache: [String: UInt64] = [:]
    /// DWARF of the symbols' ELF, opened on first use (see `debugInfo()`).
    var debugInfoLoad: (source: String, result: Result<DebugInfoFile, DebugInfoError>)?
    /// `set print raw-values on`: values print as gdb prints them, without the kernel pretty-printers.
    public var printRawValues = false
    /// The layout check of the ELF at `source` (`kernelLayoutCheck()`).
    var layoutCheckCache: (source: String, check: KernelLayoutCheck?)?
    /// The backtrace of this stop, built by the first command that needs it; dropped when the target resumes.
    var backtraceCache: SourceBacktrace?
    /// EL0 programs' DWARF and symbols, by program name (opened on the first backtrace that reaches EL0).
    var userPrograms: [String: UserSpaceInfo] = [:]
    /// Where a replayed recording stands (instruction count, last direction); nil when not replaying.
    public var replayPosition: ReplayPosition?
    /// The debugger's writes of a replayed fault scenario, by instruction count (`mmdbg replay --debug`
    /// of a `run --record` folder): forward execution re-applies each, reverse execution stops at them.
    public var replayInjections: [ReplayInjection] = []
    /// The frame `frame`/`up`/`down` selected (0 = innermost); back to 0 at every stop.
    public internal(set) var selectedFrame = 0
    /// The CPU (0-based: QEMU's CPU#N, the kernel's mm_cpus index) whose registers and
    /// translation `regs`, `bt`, `vtop`, `pt` and `x` use, once the session knows the target
    /// has several (after `cpus`/`cpu`, or a stop on another CPU than the first); nil otherwise.
    /// Every stop selects the stopping CPU, as gdb switches to the thread that stopped.
    public internal(set) var selectedCPU: Int?
    /// The target's CPU count once `cpus`/`cpu` asked (nil: not asked; the prompt then names
    /// a CPU only after a stop on another than the first).
    var knownCPUCount: Int?

    /// The prompt: the target's state, plus the selected CPU on a target with several and the
    /// position (instruction count, direction) when replaying a recording.
    public var prompt: String {
        guard case .stopped = state, selectedCPU != nil || replayPosition != nil else { return state.prompt }
        return "(mmdbg \(state.summary)" + (selectedCPU.map { " cpu \($0)" } ?? "")
            + (replayPosition?.promptSuffix ?? "") + ") "
    }

    /// Records how many CPUs the target has; with several, the prompt names the stop's CPU from now on.
    func noteCPUCount(_ count: Int) throws(CommandError) {
        knownCPUCount = count
        guard count > 1, selectedCPU == nil, case .stopped(_, _, _, let reason) = state else { return }
        selectedCPU = (target?.lastStopCPU ?? 1) - 1
        try refreshLocation(reason: reason)
    }

    /// Makes CPU `index` (0-based) the one commands use: the stub's general thread, caches dropped.
    public func selectCPU(_ index: Int) throws(CommandError) {
        let target = try requireStoppedTarget(for: "cpu")
        let numbers = try target.cpuNumbers()
        knownCPUCount = numbers.count
        guard numbers.contains(index + 1) else {
            throw .unavailable("no cpu \(index): the target has cpus 0-\(numbers.count - 1)")
        }
        try target.selectCPU(index + 1)
        let pc = state
        invalidateCaches()
        selectedCPU = index
        if case .stopped(_, _, _, let reason) = pc { try refreshLocation(reason: reason) }
    }

    public init(registry: CommandRegistry = BuiltinCommands.makeRegistry(), services: SessionServices = .standard) {
        self.registry = registry
        self.services = services
        self.connection = TargetConnection(connect: services.connect)
    }

    // MARK: the connection, as commands see it

    /// The live connection; nil when detached or after a lost connection.
    public var target: DebugTarget? { connection.target }
    /// What the prompt shows.
    public var state: TargetState { connection.state }
    /// The QEMU mmdbg started, if it did.
    public var launchedQEMU: QEMUInstance? { connection.launchedQEMU }
    /// Decides what `quit` does with QEMU.
    public var ownership: TargetConnection.Ownership { connection.ownership }
    /// The gdbstub address last attached to (for re-attach).
    public var address: String? { connection.address }

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
            if let record = connection.target?.lastProtocolError { lastProtocolError = record }
            connection.noteFailure(error)
            outcome = .failure(error)
        }
        return CommandResult(line: line, command: spec.name, outcome: outcome, endsSession: quitRequested)
    }

    // MARK: target lifecycle

    /// Adopts a QEMU the caller launched (`quit`/`end()` will kill it), loads
    /// the kernel's symbols if given, and attaches to its gdbstub.
    public func attachLaunched(_ qemu: QEMUInstance, elf: String?) throws(CommandError) {
        adoptLaunched(qemu)
        if let elf { symbols = try services.loadSymbols(elf) }
        guard let address = qemu.gdbAddress else { throw .unavailable("QEMU was started without a gdbstub") }
        try attach(to: address)
    }

    /// Adopts a QEMU that mmdbg launched; `quit` will kill it.
    public func adoptLaunched(_ qemu: QEMUInstance) { connection.adoptLaunched(qemu) }

    /// Connects to `address` and records the stop state; the session's
    /// breakpoints are put back into the (re-)attached stub.
    public func attach(to address: String) throws(CommandError) {
        let target = try connection.open(address)
        invalidateCaches()
        try refreshStopState(reason: "attached")
        try restoreBreakpoints(on: target)
    }

    /// QEMU keeps breakpoints across connections and counts insertions, so
    /// each is removed first: the stub ends up with exactly one of each either way.
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
        let actions = willEnd
        willEnd = []
        for action in actions { action(self) }
        connection.end()
    }

    /// Run by `end()` before the connection goes, once (a recording lets the kernel run to
    /// power-off so QEMU closes its event log; a replay removes its scratch snapshot image).
    public var willEnd: [(Session) -> Void] = []

    /// The connection, or a one-line reason there is none.
    public func requireTarget(for command: String) throws(CommandError) -> DebugTarget {
        try connection.require(for: command)
    }

    /// The connection, with the target stopped (most commands read state).
    public func requireStoppedTarget(for command: String) throws(CommandError) -> DebugTarget {
        let target = try requireTarget(for: command)
        if state == .running {
            throw .unavailable("\(command): the target is running (use `interrupt` first)")
        }
        return target
    }

    // MARK: stop state

    /// Forgets everything learned from the stopped target (it resumed or was written).
    public func invalidateCaches() {
        registerCache.removeAll()
        backtraceCache = nil
        selectedFrame = 0
        kernelViews.invalidate()
        for case let cache as SessionCache in extensions.values { cache.invalidate() }
    }

    /// Called after the target stopped: reads PC and the current task and updates the prompt state.
    public func refreshStopState(reason: String) throws(CommandError) {
        invalidateCaches()
        let stopCPU = target?.lastStopCPU
        if let stopCPU, stopCPU > 1 || (knownCPUCount ?? 1) > 1 { selectedCPU = stopCPU - 1 } else { selectedCPU = nil }
        try refreshLocation(reason: reason)
    }

    /// Reads PC and the current task of the selected CPU into the prompt state.
    func refreshLocation(reason: String) throws(CommandError) {
        let pc = try registerValue("pc")
        let task = symbols == nil ? nil : try? kernelViews.currentTaskID()
        connection.state = .stopped(pc: pc, location: symbols?.describe(pc), task: task ?? nil, reason: reason)
    }

    /// Marks the target stopped before its state is read (the PC comes next).
    public func noteStopped(reason: String) {
        invalidateCaches()
        connection.state = .stopped(pc: 0, location: nil, task: nil, reason: reason)
    }

    /// Marks the target running (after resume) and drops caches.
    public func noteResumed() {
        invalidateCaches()
        connection.state = .running
    }

    /// Marks the target gone after a stop event that ended it.
    public func noteGone(_ event: StopEvent) { connection.noteGone(event) }

    /// The kernel views, once the target is stopped.
    /// Refused with one line when the layout check on attach found that a structure `command`
    /// decodes differs between the ELF's DWARF and KernelABI (`KernelLayoutCheck.views`).
    public func requireKernelViews(for command: String) throws(CommandError) -> KernelViews {
        _ = try requireStoppedTarget(for: command)
        try requireLayout(for: command)
        return kernelViews
    }

    /// Throws the layout check's one line when it disabled `view`.
    public func requireLayout(for view: String) throws(CommandError) {
        if let problem = kernelLayoutCheck()?.problem(for: view) { throw .unavailable(problem) }
    }

    /// The layout check of the loaded ELF (computed once per ELF); nil without an ELF with DWARF.
    public func kernelLayoutCheck() -> KernelLayoutCheck? {
        guard let source = symbols?.source else { return nil }
        if let cached = layoutCheckCache, cached.source == source { return cached.check }
        let info = try? debugInfo(for: "the layout check")
        let check = info.flatMap { $0.hasDebugInfo ? KernelLayoutCheck(info: $0) : nil }
        layoutCheckCache = (source, check)
        return check
    }

    /// Guest memory by virtual address for commands (`x`, `finish`), through
    /// the kernel views' device-memory guard.
    public func readVirtualMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
        _ = try requireStoppedTarget(for: "reading memory")
        return try kernelViews.readVirtualMemory(at: address, count: count)
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
