import Testing
import Inspect
import KernelABI
import TestSupport

/// `symbolicate` names an address only when a symbol contains it: a sized
/// symbol its `[start, start+size)`, a label up to the next symbol and within
/// its section or load segment. The reviewer's cases were labelled
/// `_start_phys+0xfe00000`, `__kernel_end+0x44000` and
/// `_start_phys+0xfffeffffffe80000`.
@Suite struct SymbolExtentTests {
    let elf: ELFFile
    init() throws { elf = try ELFFile(path: try Tools.kernelImage()) }

    @Test func addressesOutsideTheImageHaveNoSymbol() throws {
        let kernelEnd = try elf.address(of: "__kernel_end")
        #expect(elf.symbolicate(0x5000_0000) == nil, "RAM far above the image")
        #expect(elf.symbolicate(kernelEnd + 0x44000) == nil, "past the image's end")
        #expect(elf.symbolicate(MM_LINEAR_MAP_BASE + 0x4008_0000) == nil, "below the image (the old load address)")
        #expect(elf.symbolicate(MM_KERNEL_LOAD_PA + 0x10_0000) == nil, "physical, past the text segment")
        #expect(elf.symbolicate(.max) == nil)
    }

    @Test func aLabelReachesOnlyToItsSectionsEnd() throws {
        // __bss_end closes .bss; __kernel_end lies after every section.
        let bssEnd = try elf.address(of: "__bss_end")
        let kernelEnd = try elf.address(of: "__kernel_end")
        #expect(elf.symbolicate(bssEnd) == SymbolicAddress(symbol: "__bss_end", offset: 0), "a label names its own address")
        #expect(elf.symbolicate(kernelEnd) == SymbolicAddress(symbol: "__kernel_end", offset: 0))
        #expect(elf.symbolicate(bssEnd + 8) == nil, "past .bss, before __kernel_end")
        #expect(elf.symbolicate(kernelEnd + 8) == nil)
    }

    @Test func thePhysicalLoadLabelCoversTheTextSegmentByPhysicalAddress() throws {
        let startPhys = try elf.address(of: "_start_phys")
        #expect(startPhys == MM_KERNEL_LOAD_PA)
        let text = try #require(elf.programHeaders.first { $0.type == ELFProgramHeader.typeLoad && $0.physicalAddress == startPhys })
        #expect(elf.symbolicate(startPhys + 0x10) == SymbolicAddress(symbol: "_start_phys", offset: 0x10))
        #expect(elf.symbolicate(startPhys + text.memorySize - 4)?.symbol == "_start_phys")
        #expect(elf.symbolicate(startPhys + text.memorySize) == nil, "the text segment ends there (physically)")
    }

    @Test func aSizedSymbolEndsAtItsSize() throws {
        // A sized object followed by padding: its end belongs to nothing.
        let named = elf.symbols.filter { $0.sectionIndex != 0 && $0.sectionIndex < 0xFF00 && !isMappingSymbol($0.name) }
        let padded = try #require(named.first { object in
            let end = object.address + object.size
            return object.kind == .object && object.size > 0
                && !named.contains { $0.size == 0 && $0.address == object.address }          // no label shares its start
                && !named.contains { $0.address > object.address && $0.address <= end }      // nothing starts inside or at its end
                && !named.contains { $0.size > 0 && $0.address < end && end - $0.address < $0.size }  // nothing else covers its end
        }, "the kernel has an object followed by padding")
        #expect(elf.symbolicate(padded.address + padded.size - 1) == SymbolicAddress(symbol: padded.name, offset: padded.size - 1))
        #expect(elf.symbolicate(padded.address + padded.size) == nil, "\(padded.name) ends at +\(padded.size)")
    }

    @Test func embeddedSwiftFunctionsNameThemselves() throws {
        // `$e…` are Embedded Swift's mangled names: real functions, not mapping symbols.
        let function = try #require(elf.symbols.first { $0.name.hasPrefix("$e") && $0.kind == .function && $0.size > 8 })
        #expect(elf.symbolicate(function.address + 4) == SymbolicAddress(symbol: function.name, offset: 4))
        // Mapping symbols ($x, $d) never name an address.
        let code = try elf.address(of: "map_page")
        for probe in stride(from: code, to: code + 0x400, by: 4) {
            #expect(!isMappingSymbol(elf.symbolicate(probe)?.symbol ?? ""))
        }
    }

    /// Every answer across the image (and around it) is backed by a symbol that
    /// really contains the address, checked independently of the lookup.
    @Test func everyLabelInTheImageContainsItsAddress() throws {
        let start = try elf.address(of: "__kernel_start")
        let end = try elf.address(of: "__kernel_end") + 0x2000
        let byAddress = elf.symbols.filter { $0.sectionIndex != 0 && $0.sectionIndex < 0xFF00 && !isMappingSymbol($0.name) }
        var named = 0
        for probe in stride(from: start - 0x1000, to: end, by: 0x3C) {
            guard let answer = elf.symbolicate(probe) else { continue }
            named += 1
            let symbol = try #require(byAddress.first { $0.name == answer.symbol && $0.address == probe - answer.offset })
            if symbol.size > 0 {
                #expect(answer.offset < symbol.size, "\(answer) is past \(symbol.name)'s \(symbol.size) bytes")
            } else if answer.offset > 0 {
                let section = try #require(elf.section(containing: symbol.address), "\(answer): a label outside its section covers only itself")
                #expect(section.contains(address: probe), "\(answer) leaves \(section.name)")
                #expect(!byAddress.contains { $0.address > symbol.address && $0.address <= probe }, "\(answer) runs past the next symbol")
            }
        }
        #expect(named > 1000, "most of the image is named")
    }
}

/// AArch64 mapping symbols (`$x`, `$d`, with an optional `.N`): they mark code or data and name nothing.
private func isMappingSymbol(_ name: String) -> Bool {
    ["$x", "$d", "$a", "$t"].contains { name == $0 || name.hasPrefix($0 + ".") }
}
