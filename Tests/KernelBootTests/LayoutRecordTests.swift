import Testing
import Foundation
import KernelABI
import TestSupport

/// The bytes of a defined symbol in an ELF64 little-endian file: just
/// enough ELF to read an initialised global without a debugger.
private struct ELFSymbolBytes {
    enum Failure: Error, CustomStringConvertible {
        case notELF64(String), noSymbolTable, symbolNotFound(String), symbolNotInFile(String)
        var description: String {
            switch self {
            case .notELF64(let path): "\(path) is not a little-endian ELF64 file"
            case .noSymbolTable: "the image has no symbol table (stripped?)"
            case .symbolNotFound(let name): "symbol \(name) is not in the image (dropped by --gc-sections?)"
            case .symbolNotInFile(let name): "symbol \(name) has no bytes in the file (bss?)"
            }
        }
    }

    static func read(_ name: String, from path: String) throws -> [UInt8] {
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u16(_ at: Int) -> Int { Int(file[at]) | Int(file[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
        guard file.count > 64, file[0..<4] == [0x7F, 0x45, 0x4C, 0x46], file[4] == 2, file[5] == 1 else {
            throw Failure.notELF64(path)
        }
        let sectionTable = Int(u64(0x28)), entrySize = u16(0x3A), sectionCount = u16(0x3C)
        func section(_ i: Int) -> (type: Int, addr: UInt64, offset: Int, size: Int, link: Int) {
            let at = sectionTable + i * entrySize
            return (u32(at + 4), u64(at + 16), Int(u64(at + 24)), Int(u64(at + 32)), u32(at + 40))
        }
        guard let symtab = (0..<sectionCount).map(section).first(where: { $0.type == 2 }) else { throw Failure.noSymbolTable }
        let strtab = section(symtab.link)
        for at in stride(from: symtab.offset, to: symtab.offset + symtab.size, by: 24) {
            let nameStart = strtab.offset + u32(at)
            let nameEnd = file[nameStart...].firstIndex(of: 0) ?? nameStart
            guard String(decoding: file[nameStart..<nameEnd], as: UTF8.self) == name else { continue }
            let value = u64(at + 8), size = Int(u64(at + 16)), index = u16(at + 6)
            guard index > 0, index < sectionCount else { throw Failure.symbolNotInFile(name) }
            let home = section(index)
            guard home.type != 8 else { throw Failure.symbolNotInFile(name) } // SHT_NOBITS
            let start = home.offset + Int(value - home.addr)
            return Array(file[start..<(start + size)])
        }
        throw Failure.symbolNotFound(name)
    }
}

@Suite("Kernel layout record") struct LayoutRecordTests {
    /// The debugger decodes guest memory with the host's view of
    /// kernel_abi.h; the kernel exports the view it was compiled with.
    @Test func kernelWasCompiledWithTheLayoutTheHostSees() throws {
        let bytes = try ELFSymbolBytes.read("mm_layout", from: try Tools.kernelImage())
        try #require(bytes.count == MemoryLayout<mm_layout_record>.size)
        let record = bytes.withUnsafeBytes { $0.loadUnaligned(as: mm_layout_record.self) }
        #expect(record.magic == MM_LAYOUT_MAGIC)
        #expect(record.version == MM_LAYOUT_VERSION)
        #expect(Int(record.sizeof_task) == MemoryLayout<mm_task>.size)
        #expect(Int(record.sizeof_mm) == MemoryLayout<mm_struct>.size)
        #expect(Int(record.sizeof_user_page) == MemoryLayout<mm_user_page>.size)
        #expect(Int(record.offsetof_task_mm) == MemoryLayout<mm_task>.offset(of: \.mm))
        #expect(Int(record.offsetof_task_state) == MemoryLayout<mm_task>.offset(of: \.state))
        #expect(Int(record.offsetof_task_pid) == MemoryLayout<mm_task>.offset(of: \.pid))
        #expect(Int(record.offsetof_mm_user_pages) == MemoryLayout<mm_struct>.offset(of: \.user_pages))
        #expect(Int(record.offsetof_mm_brk) == MemoryLayout<mm_struct>.offset(of: \.brk))
        #expect(record.nr_tasks == UInt32(MM_NR_TASKS))
        #expect(record.max_page_count == UInt32(MM_MAX_PAGE_COUNT))
        #expect(record.log_ring_size == UInt32(MM_LOG_RING_SIZE))
    }

    @Test func debuggerGlobalsSurviveTheLink() throws {
        let image = try Tools.kernelImage()
        for name in ["mm_log", "mm_layout"] {
            #expect(throws: Never.self) { _ = try ELFSymbolBytes.read(name, from: image) }
        }
        let log = try ELFSymbolBytes.read("mm_log", from: image)
        #expect(log.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } == MM_LOG_MAGIC)
    }
}
