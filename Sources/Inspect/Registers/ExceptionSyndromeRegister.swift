/// ESR_EL1, the exception syndrome (Arm ARM D17.2.37): the exception class,
/// the instruction length, and for aborts the fault status code, named as in
/// the Arm ARM. Added by the mmdbg (REPL) helper for `regs ESR_EL1 --decode`.
public struct ExceptionSyndromeRegister: Codable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// EC, bits [31:26].
    public var exceptionClass: Int { Int((rawValue >> 26) & 0x3F) }
    /// IL, bit 25: a 32-bit instruction trapped.
    public var instructionLength32: Bool { rawValue & (1 << 25) != 0 }
    /// ISS, bits [24:0].
    public var syndrome: UInt64 { rawValue & 0x1FF_FFFF }

    /// The exception class by its Arm ARM meaning.
    public var exceptionClassName: String {
        switch exceptionClass {
        case 0x00: return "unknown reason"
        case 0x01: return "WFI/WFE"
        case 0x07: return "SVE/SIMD/FP access"
        case 0x0E: return "illegal execution state"
        case 0x15: return "SVC from AArch64"
        case 0x18: return "MSR/MRS/system instruction"
        case 0x20: return "instruction abort from a lower EL"
        case 0x21: return "instruction abort from the same EL"
        case 0x22: return "PC alignment fault"
        case 0x24: return "data abort from a lower EL"
        case 0x25: return "data abort from the same EL"
        case 0x26: return "SP alignment fault"
        case 0x2C: return "floating-point exception"
        case 0x2F: return "SError"
        case 0x30: return "breakpoint from a lower EL"
        case 0x31: return "breakpoint from the same EL"
        case 0x32: return "software step from a lower EL"
        case 0x33: return "software step from the same EL"
        case 0x34: return "watchpoint from a lower EL"
        case 0x35: return "watchpoint from the same EL"
        case 0x3C: return "BRK instruction"
        default: return "reserved/other"
        }
    }

    /// Whether ISS holds an abort syndrome (instruction or data abort).
    public var isAbort: Bool { (0x20...0x25).contains(exceptionClass) && exceptionClass != 0x22 && exceptionClass != 0x23 }
    public var isDataAbort: Bool { exceptionClass == 0x24 || exceptionClass == 0x25 }

    /// DFSC/IFSC, ISS bits [5:0] (aborts only).
    public var faultStatusCode: Int { Int(rawValue & 0x3F) }
    /// WnR, ISS bit 6 (data aborts): the access was a write.
    public var writeNotRead: Bool { rawValue & (1 << 6) != 0 }
    /// S1PTW, ISS bit 7: the fault happened on a stage-2 walk for a stage-1 table.
    public var stage1Walk: Bool { rawValue & (1 << 7) != 0 }
    /// FnV, ISS bit 10: FAR is not valid.
    public var farNotValid: Bool { rawValue & (1 << 10) != 0 }
    /// SVC immediate (EC 0x15), ISS bits [15:0].
    public var svcImmediate: Int { Int(rawValue & 0xFFFF) }

    /// The fault status code by its Arm ARM meaning (level in the name).
    public var faultStatusName: String {
        let code = faultStatusCode
        let level = code & 3
        switch code {
        case 0x00...0x03: return "address size fault, level \(level)"
        case 0x04...0x07: return "translation fault, level \(level)"
        case 0x09...0x0B: return "access flag fault, level \(level)"
        case 0x0D...0x0F: return "permission fault, level \(level)"
        case 0x10: return "synchronous external abort"
        case 0x21: return "alignment fault"
        case 0x30: return "TLB conflict abort"
        default: return "fault status 0x\(String(code, radix: 16))"
        }
    }
}
