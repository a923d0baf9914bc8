import DebugInfo
import QEMULauncher

/// What a session is built from, as values: how it reaches a target, how it
/// reads symbols, and the kernel views over a target. `.standard` is the one
/// wiring the REPL, scenario files, benchmarks and tests use; a test swaps in
/// a double (TestSupport's fake target) for one service and keeps the rest.
public struct SessionServices {
    /// Opens a connection to a gdbstub (`HOST:PORT`, `:PORT` or a Unix socket path).
    public var connect: (ConnectRequest) throws(CommandError) -> DebugTarget
    /// Loads ELF symbols from a path.
    public var loadSymbols: (String) throws(CommandError) -> SymbolTable
    /// Makes the kernel and translation views of a session.
    public var makeKernelViews: (Session) -> KernelViews
    /// Opens the DWARF (lines, scopes, call-frame information) of an ELF, on
    /// the first source-level command: libdw by default; a test may hand back
    /// another file or an error.
    public var loadDebugInfo: (String) throws(DebugInfoError) -> DebugInfoFile

    public init(connect: @escaping (ConnectRequest) throws(CommandError) -> DebugTarget,
                loadSymbols: @escaping (String) throws(CommandError) -> SymbolTable,
                makeKernelViews: @escaping (Session) -> KernelViews,
                loadDebugInfo: @escaping (String) throws(DebugInfoError) -> DebugInfoFile = { path throws(DebugInfoError) in
                    try DebugInfoFile(path: path)
                }) {
        self.connect = connect
        self.loadSymbols = loadSymbols
        self.makeKernelViews = makeKernelViews
        self.loadDebugInfo = loadDebugInfo
    }

    /// GdbRemote for connections, Inspect's ELF reader for symbols, Inspect's views, libdw for DWARF.
    public static var standard: SessionServices {
        // A QEMU recording or replaying answers only once it has saved or loaded its initial
        // snapshot (all of guest RAM into the qcow2 drive): seconds on a loaded host.
        SessionServices(connect: { request throws(CommandError) in
                            try GdbTarget.connect(request, timeout: request.launched?.configuration.recordReplay == nil ? 5 : 60)
                        },
                        loadSymbols: { path throws(CommandError) in try ELFSymbolTable(path: path) },
                        makeKernelViews: { session in InspectKernelViews(session: session) })
    }
}

/// What a connection is opened with: the gdbstub address, and what tells the
/// target where guest RAM can be read directly (the QEMU mmdbg launched, or
/// the user's `--qemu-pid` / `--ram-file`).
public struct ConnectRequest {
    public var address: String
    /// The QEMU mmdbg launched, when `address` is its gdbstub (its RAM file is mapped).
    public var launched: QEMUInstance?
    /// `--qemu-pid`: the QEMU process to read with process_vm_readv.
    public var qemuPID: Int32?
    /// `--ram-file FILE[@GPA]`: guest RAM's backing file.
    public var ramFile: String?
    /// False (`--memory gdbstub`): every read goes through the stub.
    public var directMemory: Bool

    public init(address: String, launched: QEMUInstance? = nil, qemuPID: Int32? = nil, ramFile: String? = nil,
                directMemory: Bool = true) {
        self.address = address
        self.launched = launched
        self.qemuPID = qemuPID
        self.ramFile = ramFile
        self.directMemory = directMemory
    }
}
