#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Loads an embedded ELF program into a fresh task: every PT_LOAD page is
/// mapped eagerly with its region's permissions (UserSegmentPermissions),
/// the top stack page is mapped, the arguments are copied to the top of the
/// stack, brk starts at HEAP_BASE, and the trap frame enters `e_entry` at EL0.
enum ProgramLoader {
    enum LoadError: Error {
        case badImage(ELFError)
        case outOfMemory(uva: UInt64)
        case overlappingSegments(uva: UInt64)
        case argumentsTooLong

        var description: StaticString {
            switch self {
            case .badImage(let error): return error.description
            case .outOfMemory: return "out of memory mapping the program"
            case .overlappingSegments: return "two PT_LOAD segments share a page"
            case .argumentsTooLong: return "program arguments do not fit the stack page"
            }
        }
    }

    private static let page = MM_PAGE_SIZE
    /// Arguments live in the top 512 bytes of the stack; sp starts below.
    private static let argumentArea: UInt64 = 512

    static func load(_ image: UnsafeRawBufferPointer, into t: UnsafeMutablePointer<mm_task>,
                     arguments: UnsafeRawBufferPointer) throws(LoadError) {
        let elf: ELF64Image
        do { elf = try ELF64Image(image) } catch { throw .badImage(error) }
        for index in 0..<elf.programHeaderCount {
            guard let segment = elf.loadSegment(at: index) else { continue }
            let flags: UInt64
            do { flags = try UserSegmentPermissions.leafFlags(for: segment, index: index) } catch { throw .badImage(error) }
            try mapSegment(segment, of: elf, flags: flags, into: t)
        }

        guard UInt64(arguments.count) < argumentArea else { throw .argumentsTooLong }
        let stackPage = MM_STACK_TOP - page
        let stackKVA = allocate_user_page(t, stackPage, MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN)
        guard stackKVA != 0 else { throw .outOfMemory(uva: stackPage) }
        let argumentsUVA = MM_STACK_TOP - argumentArea
        let argumentsKVA = UnsafeMutableRawPointer(bitPattern: UInt(stackKVA + (argumentsUVA - stackPage)))!
        if let source = arguments.baseAddress { argumentsKVA.copyMemory(from: source, byteCount: arguments.count) }
        argumentsKVA.storeBytes(of: 0, toByteOffset: arguments.count, as: UInt8.self)

        t.pointee.mm.brk = MM_HEAP_BASE
        let frame = TaskTable.trapFrame(t)
        frame.pointee = mm_trap_frame()
        frame.pointee.elr = elf.entry
        frame.pointee.spsr = 0           // EL0t, interrupts unmasked
        frame.pointee.sp_el0 = argumentsUVA
        frame.pointee.x.0 = argumentsUVA
        frame.pointee.x.1 = UInt64(arguments.count)
    }

    /// Maps every page the segment touches and copies its file bytes in;
    /// the rest (bss) stays zero, as get_free_page hands out zeroed pages.
    private static func mapSegment(_ segment: ELFLoadSegment, of elf: ELF64Image, flags: UInt64,
                                   into t: UnsafeMutablePointer<mm_task>) throws(LoadError) {
        let fileEnd = segment.virtualAddress + segment.fileSize
        var uva = segment.virtualAddress & MM_PAGE_MASK
        while uva < segment.end {
            // A page shared by two segments could only get one of their
            // permissions: refuse the image rather than guess.
            if let pte = lookup_pte_slot(t, uva), pte.pointee != 0 { throw .overlappingSegments(uva: uva) }
            let kva = allocate_user_page(t, uva, flags)
            guard kva != 0 else { throw .outOfMemory(uva: uva) }
            let copyStart = max(uva, segment.virtualAddress)
            let copyEnd = min(uva + page, fileEnd)
            if copyStart < copyEnd {
                let source = elf.bytes.baseAddress! + Int(segment.fileOffset + (copyStart - segment.virtualAddress))
                UnsafeMutableRawPointer(bitPattern: UInt(kva + (copyStart - uva)))!
                    .copyMemory(from: source, byteCount: Int(copyEnd - copyStart))
            }
            // Written through the D-side, fetched by EL0 as instructions (as fork's copy).
            if flags & MM_TD_UXN == 0 { mm_sync_icache(kva, page) }
            uva += page
        }
    }
}
#endif
