import KernelSupport

/// A broken kernel invariant: prints "[PANIC] <what>" (console and log
/// ring) and powers the machine off; on the host, traps.
public func kernelPanic(_ what: StaticString) -> Never {
    Console.write(cString: mm_text_panic())
    Console.write(what)
    Console.write("\n")
    mm_psci_system_off()
}
