import KernelSupport

// Memory ordering and TLB / cache maintenance the MM code owes real
// hardware. QEMU's TCG forgives every one of them; a Cortex-A core does not:
//   - a descriptor store sits in the store buffer until `dsb ishst`, so the
//     table walker (or another CPU's) may miss it;
//   - a TLB or walk cache may keep a cleared descriptor, or a table page
//     that was freed and reused, until `tlbi` + `dsb ish`;
//   - instructions written through the data side (the linear map) are not
//     seen by the I-cache until `dc cvau` + `ic ivau` + `dsb ish` + `isb`.
//
// The kernel issues them through `MaintenanceOp`; on the host, where
// hw.c's primitives are inert, the same call goes to `maintenanceRecorder`,
// the test double: host tests check WHEN each operation happens relative
// to the descriptor and pool changes around it.

/// One maintenance operation, as the MM code asks for it.
public enum MaintenanceOp: Equatable {
    /// `dsb ishst; isb`: descriptor stores reach the walkers before the next access.
    case publishDescriptors
    /// `dsb ishst; tlbi vaae1is, va; dsb ish; isb`: no TLB or walk-cache entry for
    /// user VA `va` (any ASID) survives; after it, the tables and page behind it may be freed.
    case invalidateUserPage(va: UInt64)
    /// `dc cvau` + `ic ivau` over [kva, kva + length), `dsb ish; isb`: instructions
    /// written there through the linear map are what a later fetch sees.
    case syncInstructionCache(kva: UInt64, length: UInt64)
    /// `dsb ishst; tlbi aside1is, asid; dsb ish; isb`: no non-global TLB entry of
    /// ASID `asid` survives; after it, that address space's pages and tables may be
    /// freed and the ASID given to another.
    case invalidateAddressSpace(asid: UInt64)
}

#if !hasFeature(Embedded)
/// Host test double: receives every operation in program order (nil: dropped).
public nonisolated(unsafe) var maintenanceRecorder: ((MaintenanceOp) -> Void)? = nil
#endif

/// Issues `op` (the real instructions in the kernel, the recorder on the host).
@inline(__always)
func perform(_ op: MaintenanceOp) {
    #if hasFeature(Embedded)
    switch op {
    case .publishDescriptors: mm_publish_descriptors()
    case .invalidateUserPage(let va): mm_tlb_invalidate_user_page(va)
    case .syncInstructionCache(let kva, let length): mm_sync_icache(kva, length)
    case .invalidateAddressSpace(let asid): mm_tlb_invalidate_asid(asid)
    }
    #else
    maintenanceRecorder?(op)
    #endif
}
