import Foundation
import QEMULauncher

/// A tiny bare-metal AArch64 guest for deterministic debugger tests, built
/// with clang + lld on first use. CPU 0 starts CPU 1 through PSCI (so `-smp 2`
/// has two running vCPUs), then every CPU loops forever:
///
///     loop:  ldr x2,[counter]; add; str x2,[counter]   (counterStore)
///            ldr x4,[watched]  (watchedLoad); add; str x4,[watched] (watchedStore)
///            b loop
///
/// x9 holds the CPU index. The MMU stays off, so virtual = physical.
/// `powerOff` is reached only when a test sets the PC there.
public enum TinyGuest {
    public static let entry: UInt64 = 0x4008_0000
    public static let loop: UInt64 = 0x4008_0100
    /// The `str` that increments the counter.
    public static let counterStore: UInt64 = 0x4008_0108
    /// The `ldr` of the watched variable.
    public static let watchedLoad: UInt64 = 0x4008_010C
    /// The `str` to the watched variable.
    public static let watchedStore: UInt64 = 0x4008_0114
    /// Powers the machine off through PSCI (set the PC here and continue: QEMU exits).
    public static let powerOff: UInt64 = 0x4008_0200
    public static let counter: UInt64 = 0x4008_1000
    public static let watched: UInt64 = 0x4008_1008

    static let source = """
        .text
        .global _start
    _start:
        mrs x9, mpidr_el1
        and x9, x9, #0xff
        cbnz x9, setup
        movz x0, #0x0003            // PSCI CPU_ON (SMC64 0xC4000003) for CPU 1 at _start
        movk x0, #0xC400, lsl #16
        mov x1, #1
        movz x2, #0x0000
        movk x2, #0x4008, lsl #16
        mov x3, #0
        hvc #0
    setup:
        movz x1, #0x1000
        movk x1, #0x4008, lsl #16
        add x3, x1, #8
        b loop
        .org 0x100
    loop:
        ldr x2, [x1]
        add x2, x2, #1
        str x2, [x1]
        ldr x4, [x3]
        add x4, x4, #1
        str x4, [x3]
        b loop
        .org 0x200
    poweroff:
        movz x0, #0x0008            // PSCI SYSTEM_OFF (0x84000008)
        movk x0, #0x8400, lsl #16
        hvc #0
        b poweroff
        .org 0x1000
    counter: .quad 0
    watched: .quad 0
    """

    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: String?

    /// Builds the guest (once per source version, shared by test processes) and
    /// returns the ELF path; fails with an install hint.
    public static func image() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a of the source: a new guest gets a new directory
        for byte in source.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-tinyguest-\(String(hash, radix: 16))")
        let elfPath = dir.appendingPathComponent("guest.elf").path
        if FileManager.default.fileExists(atPath: elfPath) { built = elfPath; return elfPath }
        let clang = try QEMUInstance.findExecutable("/opt/swift/usr/bin/clang") ?? Tools.require("clang", package: "clang lld")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Build under a private name and rename: parallel test processes never see half a file.
        let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let sourcePath = dir.appendingPathComponent("guest-\(unique).S").path
        let temporaryElf = dir.appendingPathComponent("guest-\(unique).elf").path
        defer { try? FileManager.default.removeItem(atPath: sourcePath) }
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try GuestAssembler.assemble(sourcePath, into: temporaryElf, with: clang, what: "the tiny guest")
        if rename(temporaryElf, elfPath) != 0 { try? FileManager.default.removeItem(atPath: temporaryElf) }
        built = elfPath
        return elfPath
    }
}
