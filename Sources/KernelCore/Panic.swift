import KernelSupport
#if !hasFeature(Embedded)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#endif

/// A broken kernel invariant: prints "[PANIC] <what>" (console and log
/// ring) and powers the machine off; on the host, traps.
public func kernelPanic(_ what: StaticString) -> Never {
    Console.write(cString: mm_text_panic())
    Console.write(what)
    Console.write("\n")
    reportPanicOnHost()
    mm_psci_system_off()
}

/// The same with a value: "[PANIC] <what><hex value>", e.g.
/// `kernelPanic("free_page: double free of 0x", pa)`.
public func kernelPanic(_ what: StaticString, _ value: UInt64) -> Never {
    Console.write(cString: mm_text_panic())
    Console.write(what)
    Console.writeHex(value)
    Console.write("\n")
    reportPanicOnHost()
    mm_psci_system_off()
}

/// On the host there is no UART: the panic line (last line of the log
/// ring) goes to stderr before the trap, so a test can read it.
private func reportPanicOnHost() {
    #if !hasFeature(Embedded)
    let size = Int(mm_log.size), head = Int(mm_log.head)
    guard size > 0 else { return }
    var line: [UInt8] = []
    withUnsafePointer(to: &mm_log) { ring in
        let buffer = UnsafeRawPointer(ring) + Int(mm_abi_offsetof_log_buf())
        var i = head - 1
        while i >= 0 && i >= head - size {
            let byte = buffer.load(fromByteOffset: i % size, as: UInt8.self)
            if byte == UInt8(ascii: "\n") && i != head - 1 { break }
            line.insert(byte, at: 0)
            i -= 1
        }
    }
    line.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    fflush(stderr)
    #endif
}
