import KernelSupport

// The kernel's own TTBR1 tables: a linear map of RAM at
// MM_LINEAR_MAP_BASE + PA (2 MiB blocks, or 4 KiB pages as Linux maps it
// with rodata=full) and a device window, built from pages of the physical
// page allocator. Same geometry as the user tables (see Paging.swift).

/// Leaf size of a kernel mapping.
public enum LinearMapGranule {
    /// 2 MiB level-2 blocks where VA and PA are both 2 MiB aligned, pages elsewhere.
    case blocks
    /// 4 KiB level-3 pages throughout.
    case pages
}

/// A set of TTBR1 translation tables under construction.
public struct KernelTranslationTables {
    static let blockSize: UInt64 = 1 << 21
    static let descriptorTypeMask: UInt64 = 0b11
    static let typeTable: UInt64 = 0b11   // at levels 0-2; a page at level 3
    static let typeBlock: UInt64 = 0b01   // at levels 1-2

    /// PA of the level-0 table: the TTBR1 value.
    public let pgd: UInt64
    /// Table pages allocated so far, the pgd included.
    public private(set) var tableCount: Int = 1

    /// Allocates the level-0 table; nil if the pool is empty.
    public init?() {
        let page = get_free_page()
        if page == 0 { return nil }
        pgd = page
    }

    /// Maps [va, va + size) to [pa, pa + size) with leaf attributes
    /// `leaf` (a level-3 page descriptor's bits, e.g. MM_TD_KERNEL_NORMAL;
    /// blocks get the same bits with the block type). All three must be
    /// page aligned. False if a table cannot be allocated or the range
    /// overlaps an existing block.
    public mutating func map(va: UInt64, pa: UInt64, size: UInt64, leaf: UInt64, granule: LinearMapGranule) -> Bool {
        var offset: UInt64 = 0
        while offset < size {
            let v = va &+ offset, p = pa &+ offset
            let useBlock = granule == .blocks && (v | p) & (Self.blockSize - 1) == 0 && size - offset >= Self.blockSize
            guard let pud = nextTable(pgd, Paging.pgdShift, v),
                  let pmd = nextTable(pud, Paging.pudShift, v) else { return false }
            if useBlock {
                tableAt(pmd)[Paging.index(v, shift: Paging.pmdShift)] = p | (leaf & ~Self.descriptorTypeMask) | Self.typeBlock
                offset += Self.blockSize
            } else {
                guard let pte = nextTable(pmd, Paging.pmdShift, v) else { return false }
                tableAt(pte)[Paging.index(v, shift: Paging.pageShift)] = p | leaf
                offset += Paging.pageSize
            }
        }
        return true
    }

    /// The table below entry `va` of the table at `tablePA`, allocated if
    /// the entry is empty; nil on OOM or if the entry is a block.
    private mutating func nextTable(_ tablePA: UInt64, _ shift: UInt64, _ va: UInt64) -> UInt64? {
        let slot = tableAt(tablePA) + Paging.index(va, shift: shift)
        let entry = slot.pointee
        if entry & Self.descriptorTypeMask == Self.typeTable { return entry & Paging.descriptorAddressMask }
        if entry != 0 { return nil }
        let page = get_free_page()
        if page == 0 { return nil }
        tableCount += 1
        slot.pointee = page | Self.typeTable
        return page
    }

    /// A software walk of `va` through tables rooted at `pgd`: the output
    /// address, the level of the leaf (1 or 2 for blocks, 3 for pages) and
    /// the leaf descriptor, or nil if `va` is not mapped.
    public static func translate(pgd: UInt64, _ va: UInt64) -> (pa: UInt64, level: Int, descriptor: UInt64)? {
        var tablePA = pgd
        var level = 0
        for shift in stride(from: Paging.pgdShift, through: Paging.pageShift, by: -Int(Paging.tableShift)) {
            let entry = tableAt(tablePA)[Paging.index(va, shift: shift)]
            let type = entry & descriptorTypeMask
            let levelSize: UInt64 = 1 << shift
            if entry & MM_TD_VALID == 0 { return nil }
            if level == 3 {
                guard type == typeTable else { return nil }
                return (entry & Paging.descriptorAddressMask | va & (levelSize - 1), 3, entry)
            }
            if type == typeBlock {
                guard level == 1 || level == 2 else { return nil }
                return ((entry & Paging.descriptorAddressMask & ~(levelSize - 1)) | va & (levelSize - 1), level, entry)
            }
            tablePA = entry & Paging.descriptorAddressMask
            level += 1
        }
        return nil
    }
}

/// Where the kernel image's sections sit in physical memory, page aligned,
/// as the linker script lays them out: text, then rodata, then data and bss.
public struct KernelImageSections {
    /// First byte of .text (the image start).
    public var textStart: UInt64
    /// End of .text = start of .rodata.
    public var textEnd: UInt64
    /// End of .rodata (and .eh_frame) = start of .data.
    public var rodataEnd: UInt64

    public init(textStart: UInt64, textEnd: UInt64, rodataEnd: UInt64) {
        self.textStart = textStart
        self.textEnd = textEnd
        self.rodataEnd = rodataEnd
    }
}

/// One stretch of the linear map with one leaf attribute set.
public struct KernelMapRegion: Equatable {
    public var pa: UInt64
    public var size: UInt64
    public var leaf: UInt64
}

extension KernelTranslationTables {
    /// The W^X plan of the linear map of RAM [ramBase, ramBase + ramSize),
    /// in address order, as Linux maps itself with rodata=full: the image's
    /// text read-only + executable at EL1 (MM_TD_KERNEL_TEXT), its rodata
    /// read-only (MM_TD_KERNEL_RODATA), everything else - data, bss, the
    /// page pool, RAM below the image - read-write and never executable
    /// (MM_TD_KERNEL_NORMAL). No region is EL0-accessible or EL0-executable.
    /// Calls `body` once per non-empty region; false (nothing called) if the
    /// sections are unaligned, out of order or not inside RAM.
    public static func forEachLinearMapRegion(ramBase: UInt64, ramSize: UInt64, image: KernelImageSections,
                                              _ body: (KernelMapRegion) -> Void) -> Bool {
        let ramEnd = ramBase &+ ramSize
        let bounds = (ramBase, image.textStart, image.textEnd, image.rodataEnd, ramEnd)
        guard bounds.0 <= bounds.1, bounds.1 <= bounds.2, bounds.2 <= bounds.3, bounds.3 <= bounds.4,
              (image.textStart | image.textEnd | image.rodataEnd) & ~Paging.pageMask == 0 else { return false }
        func emit(_ start: UInt64, _ end: UInt64, _ leaf: UInt64) {
            if end > start { body(KernelMapRegion(pa: start, size: end - start, leaf: leaf)) }
        }
        emit(ramBase, image.textStart, MM_TD_KERNEL_NORMAL)
        emit(image.textStart, image.textEnd, MM_TD_KERNEL_TEXT)
        emit(image.textEnd, image.rodataEnd, MM_TD_KERNEL_RODATA)
        emit(image.rodataEnd, ramEnd, MM_TD_KERNEL_NORMAL)
        return true
    }

    /// Maps RAM at paToKva(PA) by `forEachLinearMapRegion`'s plan. False if
    /// the plan is refused or a table cannot be allocated.
    public mutating func mapLinearMap(ramBase: UInt64, ramSize: UInt64, image: KernelImageSections,
                                      granule: LinearMapGranule) -> Bool {
        var ok = true
        let planned = Self.forEachLinearMapRegion(ramBase: ramBase, ramSize: ramSize, image: image) { region in
            if ok { ok = map(va: paToKva(region.pa), pa: region.pa, size: region.size, leaf: region.leaf, granule: granule) }
        }
        return planned && ok
    }
}
