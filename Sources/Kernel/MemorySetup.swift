#if hasFeature(Embedded)
import KernelSupport
import KernelCore

// Boot-time memory bring-up, after boot.S turned the MMU on with 1 GiB
// boot blocks: read the device tree, put the RAM above the kernel image
// under the page allocator, build the kernel's own 4-level TTBR1 tables
// (linear map of all RAM + device window, W^X: text r-x, rodata r--, the
// rest rw- and never executable), switch to them and check them.

/// What memory bring-up found; later boot stages read it.
struct BootMemory {
    var hardware: BootHardwareInfo
    var tables: KernelTranslationTables
    var granule: LinearMapGranule
}

/// Runs every step, printing one [BOOT] line each (kernel_abi.h lists them).
func setUpMemory() -> BootMemory {
    let hardware = readDeviceTree()
    bootCommandLine = hardware.commandLine
    mm_psci_use_smc = hardware.psci == .smc ? 1 : 0
    let ramEnd = hardware.ramBase + hardware.ramSize
    let poolStart = initializePagePool(hardware)
    let granule: LinearMapGranule = hardware.commandLine.has("linear", equalTo: "pages") ? .pages : .blocks
    let tables = buildKernelTables(hardware, granule)
    switchKernelTables(to: tables)
    if ramEnd > bootLinearMapEndPA { mm_pool_grow((ramEnd - bootLinearMapEndPA) >> Paging.pageShift) }
    printPagePool(from: poolStart)
    checkLinearMap(hardware, tables, granule)
    Console.write(cString: mm_text_boot_free_pages())
    Console.writeDecimal(mm_pool.free_pages)
    Console.write("\n")
    return BootMemory(hardware: hardware, tables: tables, granule: granule)
}

/// The device tree, read through the boot linear map. QEMU passes its PA
/// in x0 only to Linux-style images; for an ELF kernel x0 is 0 and the DTB
/// sits at the start of RAM (QEMU's dtb_start = loader_start), so that is
/// the fallback. mm_boot_dtb ends up holding the PA actually used.
private func readDeviceTree() -> BootHardwareInfo {
    if mm_boot_dtb == 0 || deviceTree(at: mm_boot_dtb) == nil { mm_boot_dtb = MM_RAM_BASE }
    guard let dtb = deviceTree(at: mm_boot_dtb) else { kernelPanic("no valid device tree in x0 or at the start of RAM") }
    let info = dtb.bootHardwareInfo()
    guard info.ramSize >= 16 << 20, info.ramBase == MM_RAM_BASE else {
        kernelPanic("device tree: no usable memory node")
    }
    Console.write(cString: mm_text_boot_dtb())
    Console.writeHex(mm_boot_dtb)
    Console.write(": ram 0x")
    Console.writeHex(info.ramBase)
    Console.write(" ")
    Console.writeDecimal(info.ramSize >> 20)
    Console.write(" MiB, psci ")
    Console.write(info.psci == .hvc ? "hvc" : info.psci == .smc ? "smc" : "unknown")
    Console.write(", cmdline \"")
    for byte in info.commandLine.bytes { Console.put(byte) }
    Console.write("\"\n")
    return info
}

/// boot.S's TTBR1 boot blocks reach PA 0 .. 2 GiB: RAM above that is not
/// mapped until the kernel's own tables are installed.
private let bootLinearMapEndPA: UInt64 = 0x8000_0000

/// The pool: every page from the end of the kernel image (and of the DTB,
/// if QEMU put it above the image) to the end of RAM, or for now to the
/// end of the boot map; setUpMemory grows it once the full map is live.
/// Returns the pool's first PA.
private func initializePagePool(_ hardware: BootHardwareInfo) -> UInt64 {
    var start = roundUpToPage(kvaToPa(mm_kernel_end_va()))
    let end = min(hardware.ramBase + hardware.ramSize, bootLinearMapEndPA)
    if let dtb = deviceTree(at: mm_boot_dtb), mm_boot_dtb >= start && mm_boot_dtb < end {
        start = roundUpToPage(mm_boot_dtb + UInt64(dtb.blob.count))
    }
    guard start < end else { kernelPanic("no RAM left above the kernel image") }
    mm_pool_init(start, (end - start) >> Paging.pageShift)
    return start
}

private func printPagePool(from start: UInt64) {
    Console.write(cString: mm_text_boot_page_pool())
    Console.writeDecimal(mm_pool.page_count)
    Console.write(" pages at 0x")
    Console.writeHex(start)
    Console.write("\n")
}

private func buildKernelTables(_ hardware: BootHardwareInfo, _ granule: LinearMapGranule) -> KernelTranslationTables {
    let image = KernelImageSections(textStart: kvaToPa(mm_kernel_start_va()), textEnd: kvaToPa(mm_kernel_text_end_va()),
                                    rodataEnd: kvaToPa(mm_kernel_rodata_end_va()))
    guard var tables = KernelTranslationTables(),
          tables.mapLinearMap(ramBase: hardware.ramBase, ramSize: hardware.ramSize, image: image, granule: granule),
          tables.map(va: paToKva(MM_DEVICE_WINDOW_PA), pa: MM_DEVICE_WINDOW_PA, size: MM_DEVICE_WINDOW_SIZE,
                     leaf: MM_TD_KERNEL_DEVICE, granule: .blocks) else {
        kernelPanic("out of memory building the kernel page tables")
    }
    return tables
}

/// MAIR and TCR as documented in kernel_abi.h, then TTBR1 by
/// break-before-make (mm_replace_ttbr1: the boot blocks and the new tables
/// map the image, stack and UART at the same VAs but with other block sizes
/// and permissions, so no TLB may hold both). Then the boot identity map
/// (EL1 rwx, only needed for that switch) retires: TTBR0 gets the empty
/// table until a task installs its own.
private func switchKernelTables(to tables: KernelTranslationTables) {
    mm_write_mair(MM_MAIR_VALUE)
    mm_write_tcr(MM_TCR_VALUE)
    mm_replace_ttbr1(tables.pgd, mm_empty_table_pa())
    mm_write_ttbr0(mm_empty_table_pa())
}

/// Writes and reads a fresh page through the new linear map, checks that
/// the MMU (AT S1E1R) and a software walk of the tables agree on its PA
/// and leaf size, and that freeing it leaves the poison pattern.
private func checkLinearMap(_ hardware: BootHardwareInfo, _ tables: KernelTranslationTables, _ granule: LinearMapGranule) {
    if mm_read_ttbr1() & Paging.descriptorAddressMask != tables.pgd { kernelPanic("TTBR1 does not hold the new pgd") }
    let pa = get_free_page()
    if pa == 0 { kernelPanic("linear map check: no free page") }
    let kva = paToKva(pa)
    let words = UnsafeMutablePointer<UInt64>(bitPattern: UInt(kva))!
    for i in 0..<512 { words[i] = kva ^ UInt64(i) }
    for i in 0..<512 where words[i] != kva ^ UInt64(i) { kernelPanic("linear map check: read back differs") }

    let par = mm_translate_el1_read(kva)
    if par & 1 != 0 || par & Paging.descriptorAddressMask != pa { kernelPanic("linear map check: AT S1E1R disagrees") }
    // Blocks map RAM from the first 2 MiB boundary past the image's rodata; pages before it.
    let blockMapped = granule == .blocks && pa >= (kvaToPa(mm_kernel_rodata_end_va()) + 0x1F_FFFF) & ~0x1F_FFFF
    guard let walk = KernelTranslationTables.translate(pgd: tables.pgd, kva), walk.pa == pa,
          walk.level == (blockMapped ? 2 : 3) else {
        kernelPanic("linear map check: table walk disagrees")
    }
    // W^X as the MMU sees it: text is not writable at EL1, data is.
    if mm_translate_el1_write(mm_kernel_start_va()) & 1 == 0 { kernelPanic("linear map check: kernel text is writable") }
    if mm_translate_el1_write(kva) & 1 != 0 { kernelPanic("linear map check: a pool page is not writable") }
    free_page(pa)
    if words[0] != MM_PAGE_POISON || words[511] != MM_PAGE_POISON { kernelPanic("linear map check: freed page not poisoned") }

    Console.write(cString: mm_text_boot_linear_map_ok())
    Console.writeDecimal(hardware.ramSize >> 20)
    Console.write(" MiB at 0x")
    Console.writeHex(paToKva(hardware.ramBase))
    Console.write(granule == .pages ? " (pages), tables=" : " (blocks), tables=")
    Console.writeDecimal(UInt64(tables.tableCount))
    Console.write("\n")
}

private func deviceTree(at pa: UInt64) -> FlattenedDeviceTree? {
    FlattenedDeviceTree(at: UnsafeRawPointer(bitPattern: UInt(paToKva(pa)))!)
}

private func roundUpToPage(_ address: UInt64) -> UInt64 {
    (address + Paging.pageSize - 1) & Paging.pageMask
}
#endif
