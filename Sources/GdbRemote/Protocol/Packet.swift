/// What a request expects back.
public enum ReplyExpectation: Sendable, Equatable {
    /// An ordinary reply; a stop-shaped packet meanwhile is an asynchronous stop.
    case reply
    /// A stop reply (`?`, and `c`/`s`/`vCont`, whose reply arrives when the target stops).
    case stopReply
    /// `O` console packets belong to this request's output, then a final reply (`qRcmd`).
    case consoleThenReply
    /// Whatever comes next is the reply, even if it looks like a stop or console output
    /// (QEMU's `qqemu.*` answers are bare numbers and words).
    case anyReply
}

/// One request to the stub, as a value. A case per packet family (one file per
/// family beside this one, like the `commands/` of the Rust gdbstub crate); each
/// family knows its wire form (`encode`), the reply it expects and whether sending
/// it twice is harmless. Nothing else in GdbRemote spells a packet.
///
/// ```swift
/// Packet.memory(.read(address: 0x4000, count: 0x800)).encode()   // "m4000,800"
/// ```
public enum Packet: Sendable, Equatable, CustomStringConvertible {
    /// General queries and settings: `qSupported`, `QStartNoAckMode`, `qXfer`, `qRcmd`.
    case query(QueryPacket)
    /// Thread lists and selection: `qfThreadInfo`, `qsThreadInfo`, `qC`, `H`.
    case thread(ThreadPacket)
    /// Registers: `p`, `P`, `g`, `G`.
    case register(RegisterPacket)
    /// Memory: `m`, `M`, `X`.
    case memory(MemoryPacket)
    /// Breakpoints and watchpoints: `Z`, `z`.
    case breakpoint(BreakpointPacket)
    /// Resuming, stopping and leaving: `c`, `s`, `vCont`, `?`, `D`, `k`.
    case runControl(RunControlPacket)
    /// QEMU's own packets (`qqemu.*`, `Qqemu.*`), sent only by the QEMU adapter
    /// (defined in QEMU/QEMUAdapter.swift).
    case qemu(QEMUPacket)

    /// The body as it goes between `$` and `#`: bytes the protocol reserves
    /// (`#`, `$`, `}`, `*`) are escaped, so binary data (`X`) and stub-supplied
    /// names (a `qXfer` annex) travel intact.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the escaped body to `out`.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .query(let p): p.encode(into: &out)
        case .thread(let p): p.encode(into: &out)
        case .register(let p): p.encode(into: &out)
        case .memory(let p): p.encode(into: &out)
        case .breakpoint(let p): p.encode(into: &out)
        case .runControl(let p): p.encode(into: &out)
        case .qemu(let p): p.encode(into: &out)
        }
    }

    /// `$body#cs`, built in one buffer (the `m` packets of a memory read are on the hot path).
    public func framed() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "$")]
        out.reserveCapacity(32)
        encode(into: &out)
        let sum = out.withUnsafeBufferPointer { buffer in
            var sum: UInt8 = 0
            for b in buffer.dropFirst() { sum &+= b }
            return sum
        }
        PacketEncoder.appendChecksum(sum, to: &out)
        return out
    }

    /// What comes back.
    public var expectation: ReplyExpectation {
        switch self {
        case .query(let p): return p.expectation
        case .thread: return .reply
        case .register: return .reply
        case .memory: return .reply
        case .breakpoint: return .reply
        case .runControl(let p): return p.expectation
        case .qemu: return .anyReply
        }
    }

    /// Whether re-sending it is harmless (reads, and writes of the same bytes). Only
    /// these are re-issued when a pipelined reply arrives corrupted.
    public var isIdempotent: Bool {
        switch self {
        case .query(let p): return p.isIdempotent
        case .thread(let p): return p.isIdempotent
        case .register: return true
        case .memory: return true
        case .breakpoint: return false
        case .runControl(let p): return p.isIdempotent
        case .qemu: return true
        }
    }

    /// The body as text, clipped to 80 bytes (for errors and logs).
    public var description: String { String(decoding: encode().prefix(80), as: UTF8.self) }

    // MARK: helpers for the families

    /// Appends `bytes`, escaping the ones the protocol reserves.
    static func appendEscaped<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        for b in bytes {
            if PacketEncoder.needsEscape(b) { out.append(UInt8(ascii: "}")); out.append(b ^ 0x20) } else { out.append(b) }
        }
    }

    /// Appends text, escaped.
    static func append(_ text: String, to out: inout [UInt8]) { appendEscaped(text.utf8, to: &out) }

    /// Appends a number in hex; a negative one as `-` and its magnitude (as `String(_:radix:)` writes it).
    static func appendNumber(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        Hex.appendNumber(UInt64(value.magnitude), to: &out)
    }
}
