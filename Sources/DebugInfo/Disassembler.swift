import CCapstone
import CDwarf

/// One decoded A64 instruction.
public struct Instruction: Equatable, Sendable {
    public var address: UInt64
    /// The 4 bytes, little-endian, as one word.
    public var encoding: UInt32
    /// e.g. `stp`, `b.ne`, `bl`; `.inst` for bytes Capstone cannot decode.
    public var mnemonic: String
    /// e.g. `x29, x30, [sp, #-0x20]!`.
    public var operands: String
    /// The destination of a direct branch or call (b, bl, b.cond, cbz, tbz…).
    public var branchTarget: UInt64?
    public var isCall: Bool
    public var isReturn: Bool
    /// `mnemonic operands`.
    public var text: String { operands.isEmpty ? mnemonic : "\(mnemonic) \(operands)" }
}

/// A64 disassembly through Capstone (detail on, for branch targets).
/// Not thread-safe: one per thread, or behind a lock (`DebugInfoFile.disassemble` locks).
public final class Disassembler {
    private var handle: csh = 0

    public init() throws(DebugInfoError) {
        let status = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &handle)
        guard status == CS_ERR_OK else { throw .disassembler(String(cString: cs_strerror(status))) }
        cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
    }

    deinit { cs_close(&handle) }

    /// Decodes `bytes` (loaded at `address`) into at most `maxCount`
    /// instructions; an undecodable word becomes `.inst 0x…` (`udf #N` for UDF) and decoding goes on.
    public func disassemble(_ bytes: [UInt8], at address: UInt64, maxCount: Int = .max) -> [Instruction] {
        var result: [Instruction] = []
        var offset = 0
        while offset + 4 <= bytes.count && result.count < maxCount {
            var insn: UnsafeMutablePointer<cs_insn>?
            let count = bytes.withUnsafeBufferPointer { buffer in
                cs_disasm(handle, buffer.baseAddress! + offset, buffer.count - offset, address &+ UInt64(offset),
                          maxCount - result.count, &insn)
            }
            if count > 0, let insn {
                for i in 0..<count { result.append(Self.instruction(insn[i], handle: handle)) }
                cs_free(insn, count)
                offset += count * 4
                continue
            }
            // Capstone stops at a word it cannot decode: show it as data and go on. Capstone 4
            // predates UDF (permanently undefined: imm16 in bits 15:0, the rest zero), which
            // fills the padding between functions; name it as the Arm ARM and gdb do.
            let word = bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let isUDF = word >> 16 == 0
            result.append(Instruction(address: address &+ UInt64(offset), encoding: word, mnemonic: isUDF ? "udf" : ".inst",
                                      operands: isUDF ? "#\(word)" : "0x" + String(word, radix: 16), branchTarget: nil,
                                      isCall: false, isReturn: false))
            offset += 4
        }
        return result
    }

    private static func instruction(_ insn: cs_insn, handle: csh) -> Instruction {
        var insn = insn
        let mnemonic = withUnsafeBytes(of: insn.mnemonic) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let operands = withUnsafeBytes(of: insn.op_str) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let encoding = withUnsafeBytes(of: insn.bytes) { raw in
            raw.prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        // Capstone 4 files few A64 branches under its generic groups: the mnemonic decides too.
        let isCall = cs_insn_group(handle, &insn, CS_GRP_CALL.rawValue) || mnemonic == "bl" || mnemonic.hasPrefix("blr")
        let isReturn = cs_insn_group(handle, &insn, CS_GRP_RET.rawValue) || mnemonic.hasPrefix("ret") || mnemonic == "eret"
        let isDirectBranch = ["b", "bl", "cbz", "cbnz", "tbz", "tbnz"].contains(mnemonic) || mnemonic.hasPrefix("b.")
        var target: UInt64?
        if isDirectBranch, let detail = insn.detail {
            let arm64 = detail.pointee.arm64
            withUnsafeBytes(of: arm64.operands) { raw in
                let operands = raw.bindMemory(to: cs_arm64_op.self)
                // The immediate of a direct branch is its absolute target (cbz/tbz: the last operand).
                for index in 0..<Int(arm64.op_count) where operands[index].type == ARM64_OP_IMM {
                    target = UInt64(bitPattern: operands[index].imm)
                }
            }
        }
        return Instruction(address: insn.address, encoding: encoding, mnemonic: mnemonic, operands: operands,
                           branchTarget: target, isCall: isCall, isReturn: isReturn)
    }
}

extension DebugInfoFile {
    /// Disassembles `bytes` at `address` with this file's (lazily made) Capstone handle.
    public func disassemble(_ bytes: [UInt8], at address: UInt64, maxCount: Int = .max) throws(DebugInfoError) -> [Instruction] {
        lock.lock(); defer { lock.unlock() }
        if disassembler == nil { disassembler = try Disassembler() }
        return disassembler!.disassemble(bytes, at: address, maxCount: maxCount)
    }

    /// The bytes of the file's loaded sections at `[address, address+count)`
    /// (text from the ELF, for disassembly without a target); nil when no
    /// allocated section with contents holds them all.
    public func fileBytes(at address: UInt64, count: Int) -> [UInt8]? {
        lock.lock(); defer { lock.unlock() }
        var section: OpaquePointer? = nil
        while let next = elf_nextscn(elf, section) {
            section = next
            var header = GElf_Shdr()
            guard gelf_getshdr(next, &header) != nil, header.sh_flags & UInt64(SHF_ALLOC) != 0,
                  header.sh_type != SHT_NOBITS, address >= header.sh_addr,
                  address &+ UInt64(count) <= header.sh_addr &+ header.sh_size,
                  let data = elf_getdata(next, nil), let buffer = data.pointee.d_buf else { continue }
            let start = Int(address - header.sh_addr)
            guard start + count <= data.pointee.d_size else { return nil }
            return Array(UnsafeRawBufferPointer(start: buffer + start, count: count))
        }
        return nil
    }
}
