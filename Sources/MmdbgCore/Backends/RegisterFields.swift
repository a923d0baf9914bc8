import Inspect

/// `regs --decode`: the fields of TCR_EL1, SCTLR and ESR_EL1 as Inspect's register
/// types decode them, listed by their Arm ARM names (SCTLR: every
/// architectural field of ARMv8.0 plus SPAN/EIS/EOS, with what its value means).
enum RegisterFields {
    static func decode(_ name: String, _ value: UInt64) -> [(String, String)]? {
        switch name.uppercased() {
        case "TCR_EL1", "TCR":
            let tcr = TranslationControlRegister(rawValue: value)
            return [("T0SZ", "\(tcr.t0sz) (\(TranslationControlRegister.inputBits(txsz: tcr.t0sz))-bit VA)"),
                    ("EPD0", flag(tcr.epd0)), ("TG0", tcr.tg0.rawValue),
                    ("T1SZ", "\(tcr.t1sz) (\(TranslationControlRegister.inputBits(txsz: tcr.t1sz))-bit VA)"),
                    ("A1", flag(tcr.a1)), ("EPD1", flag(tcr.epd1)), ("TG1", tcr.tg1.rawValue),
                    ("IPS", "\(tcr.ips) (\(tcr.physicalAddressBits)-bit PA)"), ("AS", flag(tcr.asid16)),
                    ("TBI0", flag(tcr.tbi0)), ("TBI1", flag(tcr.tbi1)), ("HA", flag(tcr.ha)), ("HD", flag(tcr.hd)),
                    ("HPD0", flag(tcr.hpd0)), ("HPD1", flag(tcr.hpd1))]
        case "SCTLR", "SCTLR_EL1":
            let sctlr = SystemControlRegister(rawValue: value)
            return sctlr.fields.map { ($0.name, "\(flag($0.isSet)) (\($0.meaning))") }
        case "ESR_EL1", "ESR":
            let esr = ExceptionSyndromeRegister(rawValue: value)
            var fields = [("EC", "0x\(String(esr.exceptionClass, radix: 16)) (\(esr.exceptionClassName))"),
                          ("IL", esr.instructionLength32 ? "1 (32-bit instruction)" : "0"),
                          ("ISS", "0x" + String(esr.syndrome, radix: 16))]
            if esr.isAbort {
                fields.append(("DFSC/IFSC", "0x\(String(esr.faultStatusCode, radix: 16)) (\(esr.faultStatusName))"))
                if esr.isDataAbort { fields.append(("WnR", esr.writeNotRead ? "1 (write)" : "0 (read)")) }
                fields.append(("S1PTW", flag(esr.stage1Walk)))
                fields.append(("FnV", esr.farNotValid ? "1 (FAR not valid)" : "0"))
            } else if esr.exceptionClass == 0x15 {
                fields.append(("imm16", "0x" + String(esr.svcImmediate, radix: 16)))
            }
            return fields
        default:
            return nil
        }
    }

    private static func flag(_ on: Bool) -> String { on ? "1" : "0" }
}
