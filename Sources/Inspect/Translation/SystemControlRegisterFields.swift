/// Every architecturally meaningful SCTLR_EL1 field (Arm ARM D17.2.118), for
/// `regs SCTLR_EL1 --decode`. The layout is ARMv8.0 (the Cortex-A53) plus the
/// later fields that are RES1 there (EOS, EIS, SPAN), so a v8.0 value decodes
/// to what the hardware does; the pointer-authentication and MTE bits are left out.
extension SystemControlRegister {
    /// One field: its Arm ARM name, bit, value and what the value means.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var bit: Int
        public var isSet: Bool
        /// e.g. `MMU on`, `EL0 WFI traps`.
        public var meaning: String
    }

    /// (name, bit, meaning when 1, meaning when 0), low bit first.
    private static let layout: [(String, Int, String, String)] = [
        ("M", 0, "MMU on", "MMU off"),
        ("A", 1, "alignment checked", "no alignment check"),
        ("C", 2, "data cacheable", "data non-cacheable"),
        ("SA", 3, "EL1 SP alignment checked", "EL1 SP alignment not checked"),
        ("SA0", 4, "EL0 SP alignment checked", "EL0 SP alignment not checked"),
        ("CP15BEN", 5, "AArch32 CP15 barriers enabled", "AArch32 CP15 barriers undefined"),
        ("ITD", 7, "AArch32 IT disabled at EL0", "AArch32 IT enabled at EL0"),
        ("SED", 8, "AArch32 SETEND disabled at EL0", "AArch32 SETEND enabled at EL0"),
        ("UMA", 9, "EL0 may access DAIF", "EL0 DAIF access traps"),
        ("EOS", 11, "exception return synchronizes context", "exception return does not synchronize context"),
        ("I", 12, "instructions cacheable", "instructions non-cacheable"),
        ("DZE", 14, "EL0 DC ZVA allowed", "EL0 DC ZVA traps"),
        ("UCT", 15, "EL0 CTR_EL0 access allowed", "EL0 CTR_EL0 access traps"),
        ("nTWI", 16, "EL0 WFI not trapped", "EL0 WFI traps"),
        ("nTWE", 18, "EL0 WFE not trapped", "EL0 WFE traps"),
        ("WXN", 19, "writable implies execute-never", "writable may execute"),
        ("IESB", 21, "implicit error synchronization barrier", "no implicit error barrier"),
        ("EIS", 22, "exception entry synchronizes context", "exception entry does not synchronize context"),
        ("SPAN", 23, "PSTATE.PAN unchanged on exception to EL1", "PSTATE.PAN set on exception to EL1"),
        ("E0E", 24, "EL0 data big-endian", "EL0 data little-endian"),
        ("EE", 25, "EL1 data and table walks big-endian", "EL1 data and table walks little-endian"),
        ("UCI", 26, "EL0 cache maintenance allowed", "EL0 cache maintenance traps"),
    ]

    /// The fields, low bit first.
    public var fields: [Field] {
        Self.layout.map { name, bit, whenSet, whenClear in
            let isSet = rawValue & (1 << UInt64(bit)) != 0
            return Field(name: name, bit: bit, isSet: isSet, meaning: isSet ? whenSet : whenClear)
        }
    }

    /// The field called `name` (Arm ARM spelling, e.g. `nTWI`), if decoded.
    public func field(_ name: String) -> Field? {
        fields.first { $0.name == name }
    }
}
