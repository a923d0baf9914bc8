/// TCR_EL1 decoded: the shape of both halves of the EL1&0 address space.
public struct TranslationControlRegister: Codable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    private func field(_ low: Int, _ width: Int) -> UInt64 { (rawValue >> UInt64(low)) & ((1 << UInt64(width)) - 1) }
    private func bit(_ n: Int) -> Bool { field(n, 1) == 1 }

    /// T0SZ: TTBR0's region is 2^(64-T0SZ) bytes.
    public var t0sz: Int { Int(field(0, 6)) }
    /// EPD0: walks through TTBR0 are disabled (a TLB miss faults).
    public var epd0: Bool { bit(7) }
    public var tg0: TranslationGranule { TranslationGranule(tg0: field(14, 2)) }
    /// T1SZ: TTBR1's region is 2^(64-T1SZ) bytes at the top of the VA space.
    public var t1sz: Int { Int(field(16, 6)) }
    /// A1: the ASID comes from TTBR1 instead of TTBR0.
    public var a1: Bool { bit(22) }
    /// EPD1: walks through TTBR1 are disabled.
    public var epd1: Bool { bit(23) }
    public var tg1: TranslationGranule { TranslationGranule(tg1: field(30, 2)) }
    /// IPS encoding (0..6).
    public var ips: Int { Int(field(32, 3)) }
    /// AS: 16-bit ASIDs (else 8-bit).
    public var asid16: Bool { bit(36) }
    /// TBI0/TBI1: the top byte of a VA is ignored in that half.
    public var tbi0: Bool { bit(37) }
    public var tbi1: Bool { bit(38) }
    /// HA: the walker sets AF in hardware; HD: it manages the dirty state (DBM).
    public var ha: Bool { bit(39) }
    public var hd: Bool { bit(40) }
    /// HPD0/HPD1 (FEAT_HPDS): hierarchical permissions (APTable, XNTable, PXNTable) disabled.
    public var hpd0: Bool { bit(41) }
    public var hpd1: Bool { bit(42) }

    /// Intermediate physical address size in bits from IPS (32, 36, 40, 42, 44, 48, 52).
    public var physicalAddressBits: Int {
        switch ips {
        case 0: return 32
        case 1: return 36
        case 2: return 40
        case 3: return 42
        case 4: return 44
        case 5: return 48
        default: return 52
        }
    }

    /// Input-address bits of a half: 64 - TxSZ, clamped to the legal 25...48
    /// range (out-of-range TxSZ is CONSTRAINED UNPREDICTABLE; QEMU clamps).
    public static func inputBits(txsz: Int) -> Int {
        64 - min(max(txsz, 16), 39)
    }
}

/// SCTLR_EL1 bits that change translation.
public struct SystemControlRegister: Codable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// M: stage 1 translation enabled.
    public var mmuEnabled: Bool { rawValue & 1 != 0 }
    /// WXN: writable regions are execute-never.
    public var writeImpliesExecuteNever: Bool { rawValue & (1 << 19) != 0 }
}
