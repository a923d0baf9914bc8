import KernelSupport

/// The leaf descriptor flags the ELF loader gives each page of a PT_LOAD,
/// by region (kernel_abi.h's memory map):
///   executable segment → text: MM_TD_USER_TEXT_FLAGS (EL0 read-only and
///     executable, so a store raises a permission fault); must lie in
///     [TEXT_BASE, DATA_BASE);
///   any other segment → data: RW + UXN (MM_TD_USER_PAGE_FLAGS_DEFAULT |
///     MM_TD_USER_XN), read-only as well when the segment is not writable;
///     must lie in [TEXT_BASE, HEAP_BASE).
/// Writable + executable is refused (W^X). Heap and stack pages, which
/// demand paging maps, get RW + UXN too.
public enum UserSegmentPermissions {
    public static func leafFlags(for segment: ELFLoadSegment, index: Int) throws(ELFError) -> UInt64 {
        if segment.isExecutable {
            guard !segment.isWritable else { throw .writableAndExecutable(index: index) }
            try requireInside(segment, index: index, from: MM_TEXT_BASE, to: MM_DATA_BASE)
            return MM_TD_USER_TEXT_FLAGS
        }
        try requireInside(segment, index: index, from: MM_TEXT_BASE, to: MM_HEAP_BASE)
        let readWriteNoExecute = MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN
        return segment.isWritable ? readWriteNoExecute : readWriteNoExecute | MM_TD_AP_RO
    }

    private static func requireInside(_ segment: ELFLoadSegment, index: Int,
                                      from low: UInt64, to high: UInt64) throws(ELFError) {
        let (end, overflow) = segment.virtualAddress.addingReportingOverflow(segment.memorySize)
        guard !overflow, segment.virtualAddress >= low, end <= high else {
            throw .segmentOutsideUserRegions(index: index, vaddr: segment.virtualAddress)
        }
    }
}
