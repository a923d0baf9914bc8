import KernelSupport

// The 48-bit, 4 KiB-granule, 4-level translation regime both halves use.
//
//   VA bits: [47:39] L0 (pgd) index  [38:30] L1 (pud)  [29:21] L2 (pmd)
//            [20:12] L3 (pte) index  [11:0] offset in page
//   TTBR1 (VA 0xFFFF...): kernel, linear map KVA = PA + MM_LINEAR_MAP_BASE
//   TTBR0 (VA 0x0000...): the current task's user space (see kernel_abi.h)

/// Page and table geometry shared by the user and kernel page-table code.
public enum Paging {
    public static let pageShift: UInt64 = UInt64(MM_PAGE_SHIFT)
    public static let pageSize: UInt64 = MM_PAGE_SIZE
    public static let pageMask: UInt64 = MM_PAGE_MASK
    public static let tableShift: UInt64 = 9
    public static let entriesPerTable: UInt64 = 512
    /// Shift of the VA bits that index the level-0 (pgd) table.
    public static let pgdShift: UInt64 = pageShift + 3 * tableShift
    /// Shift of the VA bits that index the level-1 (pud) table.
    public static let pudShift: UInt64 = pageShift + 2 * tableShift
    /// Shift of the VA bits that index the level-2 (pmd) table.
    public static let pmdShift: UInt64 = pageShift + tableShift
    /// Output-address bits [47:12] of a table or page descriptor.
    public static let descriptorAddressMask: UInt64 = 0x0000_FFFF_FFFF_F000

    /// Index of `va` in a table whose entries each cover `1 << shift` bytes.
    @inline(__always)
    public static func index(_ va: UInt64, shift: UInt64) -> Int {
        Int((va >> shift) & (entriesPerTable - 1))
    }
}

/// Kernel-virtual address of physical address `pa`: the linear map in the
/// kernel; identity on the host, where "physical" pages are host memory
/// (as the reference module's host build does).
@inline(__always)
public func paToKva(_ pa: UInt64) -> UInt64 {
    #if hasFeature(Embedded)
    return pa &+ MM_LINEAR_MAP_BASE
    #else
    return pa
    #endif
}

/// Physical address of a linear-map kernel-virtual address (inverse of paToKva).
@inline(__always)
public func kvaToPa(_ kva: UInt64) -> UInt64 {
    #if hasFeature(Embedded)
    return kva &- MM_LINEAR_MAP_BASE
    #else
    return kva
    #endif
}

/// The table page at physical address `pa`, as 512 descriptors.
@inline(__always)
func tableAt(_ pa: UInt64) -> UnsafeMutablePointer<UInt64> {
    UnsafeMutablePointer<UInt64>(bitPattern: UInt(paToKva(pa)))!
}
