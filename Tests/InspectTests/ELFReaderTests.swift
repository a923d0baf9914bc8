import Testing
import Inspect
import KernelABI
import TestSupport

/// A minimal ELF64 image assembled in the test: a `.note.gnu.build-id`
/// section, a symbol table with two symbols, and the section-name table.
func handMadeELF(buildID: [UInt8]) -> [UInt8] {
    var image = [UInt8](repeating: 0, count: 64)
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<MemoryLayout<T>.size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
    func append<T: FixedWidthInteger>(_ value: T) {
        for i in 0..<MemoryLayout<T>.size { image.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
    // Note: namesz 4 ("GNU\0"), descsz, type 3.
    let noteOffset = image.count
    append(UInt32(4)); append(UInt32(buildID.count)); append(UInt32(3))
    image += Array("GNU\0".utf8) + buildID
    while image.count % 8 != 0 { image.append(0) }
    let noteSize = image.count - noteOffset
    let strtab = Array("\0first\0second\0".utf8)
    let strtabOffset = image.count
    image += strtab
    while image.count % 8 != 0 { image.append(0) }
    let symtabOffset = image.count
    image += [UInt8](repeating: 0, count: 24)                     // null symbol
    append(UInt32(1)); image += [0x12, 0]; append(UInt16(1)); append(UInt64(0x1000)); append(UInt64(0x10))   // first: global func
    append(UInt32(7)); image += [0x11, 0]; append(UInt16(1)); append(UInt64(0x2000)); append(UInt64(8))      // second: global object
    let shstrtab = Array("\0.note.gnu.build-id\0.strtab\0.symtab\0.shstrtab\0".utf8)
    let shstrtabOffset = image.count
    image += shstrtab
    while image.count % 8 != 0 { image.append(0) }
    let sectionHeaders = image.count
    func section(name: UInt32, type: UInt32, offset: Int, size: Int, link: UInt32 = 0, entrySize: UInt64 = 0) {
        append(name); append(type); append(UInt64(0)); append(UInt64(0)); append(UInt64(offset)); append(UInt64(size))
        append(link); append(UInt32(0)); append(UInt64(8)); append(entrySize)
    }
    section(name: 0, type: 0, offset: 0, size: 0)
    section(name: 1, type: 7, offset: noteOffset, size: noteSize)
    section(name: 20, type: 3, offset: strtabOffset, size: strtab.count)
    section(name: 28, type: 2, offset: symtabOffset, size: 72, link: 2, entrySize: 24)
    section(name: 36, type: 3, offset: shstrtabOffset, size: shstrtab.count)
    image.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
    image[4] = 2; image[5] = 1; image[6] = 1
    put(UInt16(2), at: 16, in: &image)
    put(UInt16(183), at: 18, in: &image)
    put(UInt64(sectionHeaders), at: 40, in: &image)
    put(UInt16(64), at: 52, in: &image)
    put(UInt16(56), at: 54, in: &image)
    put(UInt16(64), at: 58, in: &image)
    put(UInt16(5), at: 60, in: &image)
    put(UInt16(4), at: 62, in: &image)
    return image
}

@Suite struct ELFReaderTests {
    @Test func readsTheKernelsSymbolsSectionsAndSegments() throws {
        let elf = try ELFFile(path: try Tools.kernelImage())
        #expect(elf.machine == ELFFile.machineAArch64)
        #expect(elf.entry == MM_KERNEL_LOAD_PA)
        let tasks = try #require(elf.symbol(named: "mm_tasks"))
        #expect(tasks.kind == .object)
        #expect(tasks.size == UInt64(MemoryLayout<mm_task>.size) * UInt64(MM_NR_TASKS))
        #expect(tasks.address >= MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA)
        #expect(elf.symbol(named: "mm_uart_putc")?.kind == .function)
        let load = elf.programHeaders.filter { $0.type == ELFProgramHeader.typeLoad }
        #expect(load.first?.virtualAddress == MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA)
        #expect(load.first?.physicalAddress == MM_KERNEL_LOAD_PA)
        #expect(load.first?.permissions == "R-X")
        #expect(elf.sections.contains { $0.name == ".text" && $0.address == MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA })
        #expect(elf.section(containing: tasks.address)?.name == ".bss")
    }

    @Test func turnsKernelAddressesIntoSymbolPlusOffset() throws {
        let elf = try ELFFile(path: try Tools.kernelImage())
        let tasks = try elf.address(of: "mm_tasks")
        #expect(elf.symbolicate(tasks)?.description == "mm_tasks")
        #expect(elf.symbolicate(tasks + 0x10)?.description == "mm_tasks+0x10")
        let putc = try #require(elf.symbol(named: "mm_uart_putc"))
        #expect(elf.symbolicate(putc.address + 8) == SymbolicAddress(symbol: "mm_uart_putc", offset: 8))
        #expect(elf.symbolicate(0x1000) == nil)
        #expect(throws: ELFError.noSuchSymbol("no_such_symbol")) { try elf.address(of: "no_such_symbol") }
    }

    @Test func readsInitialisedDataFromTheFile() throws {
        let elf = try ELFFile(path: try Tools.kernelImage())
        let log = try elf.address(of: "mm_log")
        let bytes = try elf.contents(at: log, length: 16)
        #expect(bytes.littleEndianUInt64(at: 0) == MM_LOG_MAGIC)
        #expect(bytes.littleEndianUInt64(at: 8) == UInt64(MM_LOG_RING_SIZE))
        #expect(throws: ELFError.self) { try elf.contents(at: try elf.address(of: "mm_tasks"), length: 8) }   // .bss
    }

    @Test func theKernelImageWasBuiltWithTheDebuggersLayout() throws {
        let layout = try KernelLayout(elf: try ELFFile(path: try Tools.kernelImage()))
        #expect(layout == KernelLayout.host)
        #expect(throws: KernelInspectionError.missingSymbol("mm_layout")) { try KernelLayout(elf: try ELFFile(bytes: handMadeELF(buildID: [1]))) }
    }

    @Test func readsABuildIDAndReportsNoneWhenAbsent() throws {
        let id: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x0f]
        let elf = try ELFFile(bytes: handMadeELF(buildID: id))
        #expect(elf.buildID == "deadbeef0001020f")
        #expect(elf.symbols.map(\.name) == ["first", "second"])
        #expect(elf.symbols.map(\.kind) == [.function, .object])
        #expect(elf.symbolicate(0x100c)?.description == "first+0xc")
        #expect(elf.symbolicate(0x1010) == nil)   // past first's 16 bytes, before second
        let kernel = try ELFFile(path: try Tools.kernelImage())
        let hasNote = kernel.sections.contains { $0.name == ".note.gnu.build-id" }
        #expect((kernel.buildID != nil) == hasNote)
    }

    @Test func badInputIsAOneLineErrorNotACrash() throws {
        #expect(throws: ELFError.notELF) { try ELFFile(bytes: Array("#!/bin/sh\n".utf8) + [UInt8](repeating: 0, count: 64)) }
        let image = handMadeELF(buildID: [1, 2, 3, 4])
        for cut in [70, image.count / 2, image.count - 10] {
            #expect(throws: ELFError.self) { try ELFFile(bytes: Array(image.prefix(cut))) }
        }
        #expect(throws: ELFError.self) { try ELFFile(path: "/nonexistent/kernel.elf") }
        do { _ = try ELFFile(path: "/nonexistent/kernel.elf") } catch { #expect(!error.description.contains("\n")) }
    }
}
