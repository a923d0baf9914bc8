/// QEMU-only packets (`qqemu.*`, `Qqemu.*`) and QEMU-specific safety rules.
/// The rest of GdbRemote works with any stub; everything that knows it is
/// talking to QEMU lives here.
public struct QEMUAdapter: Sendable {
    /// The client whose connection the QEMU packets go over.
    public let client: GdbClient

    /// Bits of `qqemu.sstep`.
    public struct SingleStepFlags: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Single-stepping is enabled.
        public static let enable = SingleStepFlags(rawValue: 1)
        /// Interrupts are masked while stepping (QEMU's default).
        public static let noIRQ = SingleStepFlags(rawValue: 2)
        /// Timers do not advance while stepping (QEMU's default).
        public static let noTimer = SingleStepFlags(rawValue: 4)

        /// Parses a `qqemu.sstep` reply (hex, `0x` optional); nil if it is not a number that fits an Int.
        public init?(reply: String) {
            let digits = reply.hasPrefix("0x") ? reply.dropFirst(2) : Substring(reply)
            // Int(exactly:): the stub may send 16 hex digits, more than Int holds.
            guard let value = Hex.number(digits).flatMap({ Int(exactly: $0) }) else { return nil }
            self.init(rawValue: value)
        }
    }

    /// Physical ranges of the `virt` machine that must never be bulk-read: below
    /// RAM is MMIO, and touching the GIC with -smp 2 makes QEMU 7.2 crash.
    public static let deviceMemory: ClosedRange<UInt64> = 0x0800_0000...0x3FFF_FFFF
    /// The GIC distributor and CPU interface: refused even for small reads.
    public static let interruptController: ClosedRange<UInt64> = 0x0800_0000...0x0801_FFFF
    /// Reads of device memory up to this size are let through (one register).
    public static let largestDeviceRead = 8

    /// Usually reached as `client.qemu`.
    public init(client: GdbClient) { self.client = client }

    /// Whether memory accesses currently use physical addresses (`qqemu.PhyMemMode`).
    public func isPhysicalMemoryMode() throws(GdbError) -> Bool {
        let packet = Packet.qemu(.physicalMemoryMode)
        let reply = try client.request(packet, operation: "isPhysicalMemoryMode")
        guard reply == "0" || reply == "1" else {
            throw client.error(reply.isEmpty ? .unsupported : .malformedReply("expected 0 or 1, got \(reply)"),
                               "isPhysicalMemoryMode", packet: packet.description)
        }
        return reply == "1"
    }

    /// Runs `body` with memory accesses in physical mode, and always restores the
    /// previous mode afterwards, even when `body` throws. While physical mode is
    /// on, bulk reads of device memory are refused (see `deviceMemory`).
    public func withPhysicalMemory<T>(_ body: () throws(GdbError) -> T) throws(GdbError) -> T {
        try client.locked { () throws(GdbError) -> T in
            let wasPhysical = try isPhysicalMemoryMode()
            try setPhysicalMemoryMode(true)
            let previousMode = client.physicalMemoryMode
            client.physicalMemoryMode = true
            let result: Result<T, GdbError>
            do throws(GdbError) { result = .success(try body()) } catch { result = .failure(error) }
            client.physicalMemoryMode = previousMode
            if !wasPhysical, client.state != .closed {
                do throws(GdbError) { try setPhysicalMemoryMode(false) } catch {
                    // The body's error is more useful, but never leave physical mode on silently.
                    if case .failure(let bodyError) = result { throw bodyError }
                    throw error
                }
            }
            return try result.get()
        }
    }

    /// Reads physical memory (a scoped `withPhysicalMemory` around `readMemory`).
    public func readPhysicalMemory(at address: UInt64, count: Int) throws(GdbError) -> [UInt8] {
        try withPhysicalMemory { () throws(GdbError) -> [UInt8] in try client.readMemory(at: address, count: count) }
    }

    /// Reads many physical ranges in one pipelined exchange.
    public func readPhysicalMemory(ranges: [MemoryRange]) throws(GdbError) -> [[UInt8]] {
        try withPhysicalMemory { () throws(GdbError) -> [[UInt8]] in try client.readMemory(ranges: ranges) }
    }

    /// The current `qqemu.sstep` flags.
    public func singleStepFlags() throws(GdbError) -> SingleStepFlags {
        let packet = Packet.qemu(.singleStepFlags)
        let reply = try client.request(packet, operation: "singleStepFlags")
        guard let flags = SingleStepFlags(reply: reply) else {
            throw client.error(reply.isEmpty ? .unsupported : .malformedReply("sstep flags \(reply)"), "singleStepFlags",
                               packet: packet.description)
        }
        return flags
    }

    /// Sets the `qqemu.sstep` flags (e.g. `[.enable]` to let interrupts fire while stepping).
    public func setSingleStepFlags(_ flags: SingleStepFlags) throws(GdbError) {
        let packet = Packet.qemu(.setSingleStepFlags(flags.rawValue))
        try client.expectOK(Array(try client.request(packet, operation: "setSingleStepFlags").utf8), operation: "setSingleStepFlags",
                            packet: packet.description)
    }

    /// Translates a guest virtual address with the monitor's `gva2gpa` (current CPU's MMU).
    public func translate(virtualAddress: UInt64) throws(GdbError) -> UInt64 {
        let text = try client.monitor("gva2gpa 0x" + String(virtualAddress, radix: 16))
        guard let range = text.range(of: "0x") else {
            throw client.error(.malformedReply(text.trimmingCharacters(in: .whitespacesAndNewlines)), "translate",
                               packet: "qRcmd gva2gpa", address: virtualAddress)
        }
        let digits = text[range.upperBound...].prefix { $0.isHexDigit }
        guard let value = Hex.number(digits) else {
            throw client.error(.malformedReply(text), "translate", address: virtualAddress)
        }
        return value
    }

    private func setPhysicalMemoryMode(_ on: Bool) throws(GdbError) {
        let packet = Packet.qemu(.setPhysicalMemoryMode(on))
        try client.expectOK(Array(try client.request(packet, operation: "setPhysicalMemoryMode").utf8), operation: "setPhysicalMemoryMode",
                            packet: packet.description)
    }

    /// Called once per connection: if the stub is QEMU's, installs the device-memory
    /// guard. It applies to physical-mode reads, and to virtual reads while the MMU
    /// is off (SCTLR.M clear: virtual = physical). Reads elsewhere cost nothing extra;
    /// reads near devices cost one (cached) SCTLR read.
    static func configure(_ client: GdbClient) throws(GdbError) {
        let reply = try client.request(.qemu(.supported), operation: "connect")
        guard reply.split(separator: ";").contains("PhyMemMode") else { return }
        client.isQEMU = true
        client.memoryReadGuard = { (client, range) throws(GdbError) -> String? in
            guard range.overlaps(deviceMemory) else { return nil }
            if !client.physicalMemoryMode {
                guard client.registerMap.register(named: "SCTLR") != nil else { return nil }
                let mmuOn = try client.readRegister("SCTLR") & 1 == 1
                if mmuOn { return nil }
            }
            return deviceMemoryGuard(range)
        }
    }

    /// Refuses reads that would touch the GIC or bulk-read other device memory.
    static func deviceMemoryGuard(_ range: MemoryRange) -> String? {
        if range.overlaps(interruptController) {
            return "\(range) touches the GIC, whose registers crash QEMU 7.2 when read through the gdbstub"
        }
        if range.count > largestDeviceRead, range.overlaps(deviceMemory) {
            return "\(range) is a bulk read of device memory (0x8000000-0x3fffffff); read at most \(largestDeviceRead) bytes"
        }
        return nil
    }
}

/// QEMU's own packets. Every reply is taken as it comes (`.anyReply`: the answers
/// are bare numbers and words), and sending one twice is harmless.
public enum QEMUPacket: Sendable, Equatable {
    /// `qqemu.Supported`: `sstepbits;sstep;PhyMemMode` on QEMU, empty elsewhere.
    case supported
    /// `qqemu.PhyMemMode`: `1` while memory accesses use physical addresses.
    case physicalMemoryMode
    /// `Qqemu.PhyMemMode:<0|1>`.
    case setPhysicalMemoryMode(Bool)
    /// `qqemu.sstep`: the single-step flags, in hex.
    case singleStepFlags
    /// `Qqemu.sstep=<hex flags>`.
    case setSingleStepFlags(Int)

    func encode(into out: inout [UInt8]) {
        switch self {
        case .supported: Packet.append("qqemu.Supported", to: &out)
        case .physicalMemoryMode: Packet.append("qqemu.PhyMemMode", to: &out)
        case .setPhysicalMemoryMode(let on): Packet.append(on ? "Qqemu.PhyMemMode:1" : "Qqemu.PhyMemMode:0", to: &out)
        case .singleStepFlags: Packet.append("qqemu.sstep", to: &out)
        case .setSingleStepFlags(let flags):
            Packet.append("Qqemu.sstep=", to: &out)
            Packet.appendNumber(flags, to: &out)
        }
    }
}

extension GdbClient {
    /// QEMU-only operations (physical-memory mode, single-step flags).
    public var qemu: QEMUAdapter { QEMUAdapter(client: self) }
}

import Foundation
