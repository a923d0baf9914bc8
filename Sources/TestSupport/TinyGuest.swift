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

    /// Builds the guest (once per source version, shared by test processes) and
    /// returns the ELF path; fails with an install hint.
    public static func image() throws -> String {
        try GuestAssembler.image(of: source, named: "tinyguest", what: "the tiny guest")
    }
}
