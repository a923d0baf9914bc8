import Foundation

/// A parsed ELF64 little-endian image (the kernel, or any AArch64 ELF):
/// sections, program headers, symbols and build id, plus address lookups.
public struct ELFFile: Sendable {
    /// `e_machine` (183 = AArch64).
    public let machine: UInt16
    /// `e_type` (2 EXEC, 3 DYN).
    public let fileType: UInt16
    /// `e_entry` (the kernel's is the physical address of `_start`).
    public let entry: UInt64
    /// Section headers, in file order (index = section index).
    public let sections: [ELFSection]
    /// Program headers (segments), in file order.
    public let programHeaders: [ELFProgramHeader]
    /// Every named symbol, in file order.
    public let symbols: [ELFSymbol]
    /// Contents of the `.note.gnu.build-id` note as hex, or nil when the image has none.
    public let buildID: String?

    /// The whole file.
    public let bytes: [UInt8]
    private let symbolsByName: [String: Int]
    /// Indices into `symbols` of code/data symbols, sorted by address (for `symbolicate`).
    private let addressOrder: [Int]

    /// `EM_AARCH64`.
    public static let machineAArch64: UInt16 = 183

    /// Reads and parses the file at `path`.
    public init(path: String) throws(ELFError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data))
    }

    /// Parses an in-memory image.
    /// `e_machine` of a 64-bit little-endian ELF from its first bytes (at least
    /// the 64-byte header); the one check of ELF identification on the host.
    public static func machine(ofHeader header: [UInt8]) throws(ELFError) -> UInt16 {
        guard header.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { throw .notELF }
        guard header.count >= 64 else { throw .truncated(what: "ELF header", offset: 0) }
        guard header[4] == 2 else { throw .unsupported("only 64-bit ELF (ELFCLASS64) is supported") }
        guard header[5] == 1 else { throw .unsupported("only little-endian ELF is supported") }
        return UInt16(header[18]) | UInt16(header[19]) << 8
    }

    public init(bytes: [UInt8]) throws(ELFError) {
        let reader = ELFByteReader(bytes: bytes)
        _ = try ELFFile.machine(ofHeader: bytes)
        self.bytes = bytes
        fileType = try reader.u16(16)
        machine = try reader.u16(18)
        entry = try reader.u64(24)
        let programHeaderOffset = try reader.u64(32)
        let sectionHeaderOffset = try reader.u64(40)
        let programHeaderSize = UInt64(try reader.u16(54))
        let programHeaderCount = UInt64(try reader.u16(56))
        let sectionHeaderSize = UInt64(try reader.u16(58))
        let sectionHeaderCount = UInt64(try reader.u16(60))
        let sectionNameIndex = Int(try reader.u16(62))

        var headers: [ELFProgramHeader] = []
        for i in 0..<programHeaderCount {
            let at = try reader.offset(programHeaderOffset, plus: i * programHeaderSize, "program header")
            headers.append(ELFProgramHeader(
                type: try reader.u32(at), flags: try reader.u32(at, plus: 4), fileOffset: try reader.u64(at, plus: 8),
                virtualAddress: try reader.u64(at, plus: 16), physicalAddress: try reader.u64(at, plus: 24),
                fileSize: try reader.u64(at, plus: 32), memorySize: try reader.u64(at, plus: 40),
                alignment: try reader.u64(at, plus: 48)))
        }
        programHeaders = headers

        var rawSections: [(nameOffset: UInt32, section: ELFSection)] = []
        for i in 0..<sectionHeaderCount {
            let at = try reader.offset(sectionHeaderOffset, plus: i * sectionHeaderSize, "section header")
            rawSections.append((try reader.u32(at), ELFSection(
                name: "", type: try reader.u32(at, plus: 4), flags: try reader.u64(at, plus: 8),
                address: try reader.u64(at, plus: 16), fileOffset: try reader.u64(at, plus: 24),
                size: try reader.u64(at, plus: 32), link: try reader.u32(at, plus: 40),
                entrySize: try reader.u64(at, plus: 56))))
        }
        if sectionNameIndex < rawSections.count {
            let names = rawSections[sectionNameIndex].section.fileOffset
            for i in rawSections.indices {
                rawSections[i].section.name = try reader.cString(names, plus: UInt64(rawSections[i].nameOffset))
            }
        }
        sections = rawSections.map(\.section)

        var parsedSymbols: [ELFSymbol] = []
        for table in sections where table.type == ELFSection.typeSymbolTable {
            guard Int(table.link) < sections.count else { throw .unsupported("symbol table links to a missing string table") }
            let strings = sections[Int(table.link)].fileOffset
            let entrySize = table.entrySize == 0 ? 24 : table.entrySize
            let end = try reader.offset(table.fileOffset, plus: table.size, "symbol table")
            var at = try reader.offset(table.fileOffset, plus: entrySize, "symbol table")   // entry 0 is the null symbol
            while at <= end && end - at >= entrySize {
                let info = try reader.u8(at, plus: 4)
                let name = try reader.cString(strings, plus: UInt64(try reader.u32(at)))
                if !name.isEmpty {
                    parsedSymbols.append(ELFSymbol(
                        name: name, address: try reader.u64(at, plus: 8), size: try reader.u64(at, plus: 16),
                        kind: .init(elfType: info & 0xF), binding: .init(elfBinding: info >> 4),
                        sectionIndex: try reader.u16(at, plus: 6)))
                }
                at = try reader.offset(at, plus: entrySize, "symbol table")
            }
        }
        symbols = parsedSymbols

        var byName: [String: Int] = [:]
        for (i, symbol) in parsedSymbols.enumerated() {
            // Prefer a global definition over a local one with the same name.
            if let existing = byName[symbol.name], parsedSymbols[existing].binding == .global { continue }
            byName[symbol.name] = i
        }
        symbolsByName = byName
        addressOrder = parsedSymbols.indices
            .filter { ELFFile.isAddressSymbol(parsedSymbols[$0]) }
            .sorted { parsedSymbols[$0].address < parsedSymbols[$1].address }

        buildID = try ELFFile.findBuildID(sections: sections, programHeaders: headers, reader: reader)
    }

    /// The symbol called `name`, if any.
    public func symbol(named name: String) -> ELFSymbol? {
        symbolsByName[name].map { symbols[$0] }
    }

    /// The address of `name`, or a clear error.
    public func address(of name: String) throws(ELFError) -> UInt64 {
        guard let symbol = symbol(named: name) else { throw .noSuchSymbol(name) }
        return symbol.address
    }

    /// `address` as `symbol+offset`, or nil when no symbol contains it. A
    /// sized symbol contains `[start, start+size)`. A sizeless label contains
    /// its own address, and beyond it only up to the next symbol and within the
    /// region that holds the label: its section, else the load segment it lies
    /// in by virtual or physical address (`_start_phys` names the physical load
    /// address). So an address past the image or between unrelated objects is
    /// not dressed up as `label+0xfe00000`.
    public func symbolicate(_ address: UInt64) -> SymbolicAddress? {
        var low = 0, high = addressOrder.count
        while low < high {
            let mid = (low + high) / 2
            if symbols[addressOrder[mid]].address <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        let nearestStart = symbols[addressOrder[low - 1]].address
        let nextStart = low < addressOrder.count ? symbols[addressOrder[low]].address : UInt64.max
        let window = addressOrder[max(0, low - 8)..<low].reversed().map { symbols[$0] }
        // A sized symbol that covers the address beats a zero-sized label at the
        // same place (boot_stack_top and mm_tasks share an address).
        if let sized = window.first(where: { $0.size > 0 && address - $0.address < $0.size }) {
            return SymbolicAddress(symbol: sized.name, offset: address - sized.address)
        }
        // Only labels at the nearest start can reach the address: any symbol
        // between an earlier label and the address ends that label.
        let labels = window.filter { $0.size == 0 && $0.address == nearestStart }
        guard let label = labels.first(where: { $0.binding == .global }) ?? labels.first else { return nil }
        if address == label.address { return SymbolicAddress(symbol: label.name, offset: 0) }
        guard let regionEnd = regionEnd(holding: label), address < min(nextStart, regionEnd) else { return nil }
        return SymbolicAddress(symbol: label.name, offset: address - label.address)
    }

    /// The exclusive end of the region a sizeless symbol's extent may reach:
    /// its own section when the section holds it, else a load segment holding
    /// it by virtual or physical address; nil when nothing holds it (a label
    /// placed after its section, like `__kernel_end`, covers only itself).
    private func regionEnd(holding symbol: ELFSymbol) -> UInt64? {
        func end(_ start: UInt64, _ size: UInt64) -> UInt64 {
            let (sum, overflow) = start.addingReportingOverflow(size)
            return overflow ? .max : sum
        }
        func holds(_ start: UInt64, _ size: UInt64) -> Bool {
            symbol.address >= start && symbol.address - start < size
        }
        let index = Int(symbol.sectionIndex)
        if index < sections.count, sections[index].contains(address: symbol.address) {
            return end(sections[index].address, sections[index].size)
        }
        for segment in programHeaders where segment.type == ELFProgramHeader.typeLoad {
            if holds(segment.virtualAddress, segment.memorySize) { return end(segment.virtualAddress, segment.memorySize) }
            if holds(segment.physicalAddress, segment.memorySize) { return end(segment.physicalAddress, segment.memorySize) }
        }
        return nil
    }

    /// The section whose run-time range holds `address`.
    public func section(containing address: UInt64) -> ELFSection? {
        sections.first { $0.contains(address: address) }
    }

    /// The initial bytes of `length` bytes at run-time `address`, from the file
    /// (e.g. a `const` record in `.rodata`).
    public func contents(at address: UInt64, length: Int) throws(ELFError) -> [UInt8] {
        guard length >= 0, let section = section(containing: address), section.hasFileContents,
              UInt64(length) <= section.size - (address - section.address) else {
            throw .addressNotInFile(address)
        }
        let reader = ELFByteReader(bytes: bytes)
        let offset = try reader.offset(section.fileOffset, plus: address - section.address, "contents of \(section.name)")
        return Array(try reader.slice(offset, UInt64(length), "contents of \(section.name)"))
    }

    private static func isAddressSymbol(_ symbol: ELFSymbol) -> Bool {
        guard symbol.sectionIndex != 0, symbol.sectionIndex < 0xFF00 else { return false }
        switch symbol.kind {
        case .function, .object, .none, .tls, .common:
            // AArch64 mapping symbols ($x, $d, optionally `.N`) mark code/data, they
            // name nothing; Embedded Swift's `$e…` names are real functions and objects.
            return !isMappingSymbol(symbol.name)
        case .section, .file, .other:
            return false
        }
    }

    /// `$a`, `$d`, `$t`, `$x`, alone or with a `.suffix` (AAELF64 mapping symbols).
    private static func isMappingSymbol(_ name: String) -> Bool {
        // On the UTF-8 bytes, with no copy: every symbol of the file passes through here.
        var bytes = name.utf8.makeIterator()
        guard bytes.next() == UInt8(ascii: "$"), let kind = bytes.next(), "adtx".utf8.contains(kind) else { return false }
        guard let next = bytes.next() else { return true }
        return next == UInt8(ascii: ".")
    }

    private static func findBuildID(sections: [ELFSection], programHeaders: [ELFProgramHeader],
                                    reader: ELFByteReader) throws(ELFError) -> String? {
        var notes = sections.filter { $0.type == ELFSection.typeNote }.map { ($0.fileOffset, $0.size) }
        if notes.isEmpty {
            notes = programHeaders.filter { $0.type == ELFProgramHeader.typeNote }.map { ($0.fileOffset, $0.fileSize) }
        }
        let buildIDType: UInt32 = 3   // NT_GNU_BUILD_ID
        for (start, size) in notes {
            let end = try reader.offset(start, plus: size, "note")
            var at = start
            while at <= end && end - at >= 12 {
                let nameSize = UInt64(try reader.u32(at))
                let descSize = UInt64(try reader.u32(at, plus: 4))
                let type = try reader.u32(at, plus: 8)
                let nameAt = try reader.offset(at, plus: 12, "note name")
                let descAt = try reader.offset(nameAt, plus: (nameSize + 3) & ~3, "note descriptor")
                if type == buildIDType, try reader.cString(nameAt) == "GNU" {
                    let desc = try reader.slice(descAt, descSize, "build-id note")
                    return desc.map { byte in
                        let digits = String(byte, radix: 16)
                        return byte < 16 ? "0" + digits : digits
                    }.joined()
                }
                at = try reader.offset(descAt, plus: (descSize + 3) & ~3, "note")
            }
        }
        return nil
    }
}
