import QEMULauncher

extension Session {
    /// A session with the real backends: the built-in commands (plus whatever
    /// the caller registers), GdbRemote for connections and Inspect for the
    /// kernel views. The REPL, scenario files and tests all start here:
    ///
    ///     let session = Session.standard()
    ///     session.symbols = try ELFSymbolTable(path: kernel)
    ///     try session.attach(to: qemu.gdbAddress!)
    ///     let result = session.execute(line: "vtop $pc")
    public static func standard(registry: CommandRegistry = BuiltinCommands.makeRegistry()) -> Session {
        let session = Session(registry: registry)
        session.connector = { address throws(CommandError) in try GdbTarget.connect(to: address) }
        InspectKernelViews.install(on: session)
        return session
    }

    /// Adopts a QEMU the caller launched (`quit`/`end()` will kill it), loads
    /// the kernel's symbols if given, and attaches to its gdbstub.
    public func attachLaunched(_ qemu: QEMUInstance, elf: String?) throws(CommandError) {
        adoptLaunched(qemu)
        if let elf { symbols = try ELFSymbolTable(path: elf) }
        guard let address = qemu.gdbAddress else { throw .unavailable("QEMU was started without a gdbstub") }
        try attach(to: address)
    }
}
