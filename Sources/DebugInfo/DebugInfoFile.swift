import CDwarf
import Foundation

/// The DWARF of one ELF file, read through libdw, indexed lazily.
///
/// Opening costs the same whatever the DWARF's size: the address → unit index
/// is built on the first address lookup from every unit's ranges (only unit
/// headers and unit DIEs are read: `.debug_aranges` misses units some
/// compilers, Swift's among them, never describe there), and each unit's line
/// table is decoded the first time an address in it is asked about.
///
/// libdw is not thread-safe for one `Dwarf` handle: every entry point takes
/// the file's lock, so a `DebugInfoFile` may be shared.
///
///     let info = try DebugInfoFile(path: "kernel.elf")
///     let where = try info.location(at: pc)           // file:line:column
///     let frames = try info.frames(at: pc)            // inlined frames, then the function
public final class DebugInfoFile: @unchecked Sendable {
    /// The ELF path.
    public let path: String
    let lock = NSLock()
    /// The open file (-1 for an image in memory).
    private let fd: Int32
    /// An ELF image in memory (`init(image:name:)`): libelf reads it in place, so it lives as long as `elf`.
    private let image: UnsafeMutableRawBufferPointer?
    let elf: OpaquePointer
    /// nil when the ELF has no DWARF: call-frame information from `.eh_frame`
    /// and disassembly still work.
    let dwarf: OpaquePointer?
    /// Why `dwarf` is nil (one line), or nil.
    public let missingDebugInfo: DebugInfoError?

    /// One compilation unit: its DIE and, once decoded, its line table.
    final class Unit {
        var die: Dwarf_Die
        let name: String
        var lines: LineTable?
        var linesError: DebugInfoError?
        /// Out-of-line functions by address range, smallest first per address; found on first use.
        var functions: [(range: Range<UInt64>, die: Dwarf_Die)]?
        init(die: Dwarf_Die, name: String) {
            self.die = die
            self.name = name
        }
    }
    /// Address ranges → unit, sorted by start; built on first use.
    private var rangeIndex: [(start: UInt64, end: UInt64, unit: Int)]?
    /// The longest range: how far back a lookup must look for one that still covers an address.
    private var longestRange: UInt64 = 0
    private var units: [Unit] = []
    /// Units found through `.debug_aranges` before the index was built, by DIE offset.
    private var arangesUnits: [Dwarf_Off: Unit] = [:]
    private var indexError: DebugInfoError?
    /// Lazily opened call-frame tables (`.debug_frame`, `.eh_frame`).
    var cfiTables: [(name: String, cfi: OpaquePointer)]?
    /// Made on first use.
    var disassembler: Disassembler?
    /// Names of variables and types, and the types built so far (see Types.swift); made on first use.
    var typeIndex: NameIndex?

    /// Files at least this large are mapped rather than read (see `init(path:)`).
    public static let mappedSizeThreshold = 32 << 20

    /// Opens `path`. An ELF without DWARF opens (see `missingDebugInfo`); a
    /// file that is not a readable ELF throws.
    public init(path: String) throws(DebugInfoError) {
        self.path = path
        _ = elf_version(UInt32(EV_CURRENT))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        // ELF_C_READ copies each section into memory when libdw first asks for it, and
        // dwarf_begin_elf asks for every .debug_* section: a file rewritten in place
        // while open (a rebuild) cannot SIGBUS the debugger, but opening costs a read of
        // all the DWARF. Above `mappedSizeThreshold` (a distribution kernel's 270 MB:
        // 2.3 s and 270 MB resident just to open) the file is mapped instead, so only
        // the pages a lookup touches are read; linkers replace such files by rename,
        // which leaves the mapping valid.
        var size = stat()
        let mode = fstat(fd, &size) == 0 && Int(size.st_size) >= Self.mappedSizeThreshold ? ELF_C_READ_MMAP : ELF_C_READ
        guard let elf = elf_begin(fd, mode, nil) else {
            close(fd)
            throw .cannotOpen(path: path, reason: String(cString: elf_errmsg(-1)))
        }
        guard elf_kind(elf) == ELF_K_ELF else {
            elf_end(elf)
            close(fd)
            throw .cannotOpen(path: path, reason: "not an ELF file")
        }
        self.fd = fd
        self.image = nil
        self.elf = elf
        (dwarf, missingDebugInfo) = Self.openDwarf(elf, path: path)
    }

    /// Opens an ELF image held in memory, for example a program embedded in
    /// another ELF. `name` stands for the path in messages. A copy of `image`
    /// is kept for the file's lifetime.
    public init(image bytes: [UInt8], name: String) throws(DebugInfoError) {
        self.path = name
        _ = elf_version(UInt32(EV_CURRENT))
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        copy.copyBytes(from: bytes)
        guard let elf = elf_memory(copy.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count) else {
            copy.deallocate()
            throw .cannotOpen(path: name, reason: String(cString: elf_errmsg(-1)))
        }
        guard elf_kind(elf) == ELF_K_ELF else {
            elf_end(elf)
            copy.deallocate()
            throw .cannotOpen(path: name, reason: "not an ELF image")
        }
        self.fd = -1
        self.image = copy
        self.elf = elf
        (dwarf, missingDebugInfo) = Self.openDwarf(elf, path: name)
    }

    /// libdw's handle on `elf`, or why there is none.
    private static func openDwarf(_ elf: OpaquePointer, path: String) -> (OpaquePointer?, DebugInfoError?) {
        if let dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil) {
            return (dwarf, nil)
        }
        // No .debug_* section: nothing there; otherwise there, but unreadable.
        return (nil, hasDebugSections(elf) ? .corrupt(lastError()) : .noDebugInfo(path: path))
    }

    deinit {
        if let dwarf { dwarf_end(dwarf) }
        if let tables = cfiTables {
            // The .debug_frame table belongs to `dwarf`; only the ELF one is ours.
            for table in tables where table.name == ".eh_frame" { dwarf_cfi_end(table.cfi) }
        }
        elf_end(elf)
        if fd >= 0 { close(fd) }
        image?.deallocate()
    }

    private static func hasDebugSections(_ elf: OpaquePointer) -> Bool {
        var stringsIndex = 0
        guard elf_getshdrstrndx(elf, &stringsIndex) == 0 else { return false }
        var section: OpaquePointer? = nil
        while let next = elf_nextscn(elf, section) {
            section = next
            var header = GElf_Shdr()
            if gelf_getshdr(next, &header) != nil, let name = elf_strptr(elf, stringsIndex, Int(header.sh_name)) {
                let text = String(cString: name)
                if text.hasPrefix(".debug_") || text.hasPrefix(".zdebug_") { return true }
            }
        }
        return false
    }

    /// The lowest address of the ELF's executable sections (1 when it has none): line rows
    /// below it describe dropped code.
    private(set) lazy var lowestCodeAddress: UInt64 = {
        var lowest = UInt64.max
        var section: OpaquePointer? = nil
        while let next = elf_nextscn(elf, section) {
            section = next
            var header = GElf_Shdr()
            if gelf_getshdr(next, &header) != nil, header.sh_flags & UInt64(SHF_ALLOC) != 0,
               header.sh_flags & UInt64(SHF_EXECINSTR) != 0, header.sh_addr > 0 {
                lowest = min(lowest, header.sh_addr)
            }
        }
        return lowest == .max ? 1 : lowest
    }()

    /// True when the file has DWARF units libdw can read.
    public var hasDebugInfo: Bool { dwarf != nil }

    static func lastError() -> String {
        let code = dwarf_errno()
        return code == 0 ? "unknown libdw error" : String(cString: dwarf_errmsg(code))
    }

    // MARK: the address → unit index

    /// Builds the index once (lock held by the caller).
    func indexedUnits() throws(DebugInfoError) -> (ranges: [(start: UInt64, end: UInt64, unit: Int)], units: [Unit]) {
        if let rangeIndex { return (rangeIndex, units) }
        if let indexError { throw indexError }
        guard let dwarf else { throw missingDebugInfo ?? .noDebugInfo(path: path) }
        var ranges: [(start: UInt64, end: UInt64, unit: Int)] = []
        var cu: OpaquePointer?
        var unitType: UInt8 = 0
        var version: Dwarf_Half = 0
        var cudie = Dwarf_Die()
        while true {
            var next: OpaquePointer?
            let status = dwarf_get_units(dwarf, cu, &next, &version, &unitType, &cudie, nil)
            if status == 1 { break }
            guard status == 0, let next else {
                let error = DebugInfoError.corrupt("reading unit headers: \(Self.lastError())")
                // Keep what was read before the bad unit.
                if units.isEmpty { indexError = error; throw error }
                break
            }
            cu = next
            let tag = dwarf_tag(&cudie)
            guard tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit else { continue }
            let unitIndex = units.count
            // A unit the aranges shortcut already opened keeps its decoded tables.
            if let known = arangesUnits[dwarf_dieoffset(&cudie)] {
                units.append(known)
            } else {
                let name = dwarf_diename(&cudie).map { String(cString: $0) } ?? "?"
                units.append(Unit(die: cudie, name: name))
            }
            var offset: Int = 0
            var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
            repeat {
                offset = dwarf_ranges(&cudie, offset, &base, &start, &end)
                // A range at 0 is code the linker dropped (its relocations resolved to 0), as gdb assumes too.
                if offset > 0 && end > start && start != 0 { ranges.append((start, end, unitIndex)) }
            } while offset > 0
        }
        if units.isEmpty {
            let error = DebugInfoError.noDebugInfo(path: path)
            indexError = error
            throw error
        }
        ranges.sort { $0.start < $1.start }
        longestRange = ranges.map { $0.end - $0.start }.max() ?? 0
        rangeIndex = ranges
        return (ranges, units)
    }

    /// The unit `.debug_aranges` names for `address`, when its own ranges confirm it
    /// (lock held). Before the full index exists this answers a lookup without reading
    /// every unit: a distribution kernel's first lookup drops from 2 s to milliseconds.
    /// Aranges are only a shortcut: a miss, or a unit whose ranges do not hold the
    /// address, falls back to the index (Swift units have no aranges at all).
    private func unitFromAranges(_ address: UInt64) -> Unit? {
        guard rangeIndex == nil, let dwarf else { return nil }
        var cudie = Dwarf_Die()
        guard dwarf_addrdie(dwarf, address, &cudie) != nil else { return nil }
        var offset = 0
        var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        var covered = false
        repeat {
            offset = dwarf_ranges(&cudie, offset, &base, &start, &end)
            if offset > 0 && start != 0 && start <= address && address < end { covered = true }
        } while offset > 0 && !covered
        guard covered else { return nil }
        let key = dwarf_dieoffset(&cudie)
        if let known = arangesUnits[key] { return known }
        let unit = Unit(die: cudie, name: dwarf_diename(&cudie).map { String(cString: $0) } ?? "?")
        arangesUnits[key] = unit
        return unit
    }

    /// The units whose ranges hold `address`, most specific (smallest range) first (lock held).
    /// Units may overlap: Swift emits a `<swift-imported-modules>` unit beside each file's.
    func units(containing address: UInt64) throws(DebugInfoError) -> [Unit] {
        if let unit = unitFromAranges(address) { return [unit] }
        let (ranges, units) = try indexedUnits()
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        var found: [(length: UInt64, unit: Int)] = []
        var index = low - 1
        while index >= 0 && address - ranges[index].start < longestRange {
            if address < ranges[index].end { found.append((ranges[index].end - ranges[index].start, ranges[index].unit)) }
            index -= 1
        }
        var seen = Set<Int>()
        let ordered = found.sorted { $0.length < $1.length }.map(\.unit).filter { seen.insert($0).inserted }
        guard !ordered.isEmpty else { throw .noUnit(address) }
        return ordered.map { units[$0] }
    }

    /// The first answer `body` gives for a unit holding `address` (lock held);
    /// the first unit's error when none answers.
    func firstAnswer<T>(at address: UInt64, _ body: (Unit) throws(DebugInfoError) -> T?) throws(DebugInfoError) -> T? {
        var firstError: DebugInfoError?
        for unit in try units(containing: address) {
            do throws(DebugInfoError) {
                if let answer = try body(unit) { return answer }
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return nil
    }

    /// The unit that covers `address` (the most specific one).
    func unit(containing address: UInt64) throws(DebugInfoError) -> Unit { try units(containing: address)[0] }

    /// Every unit (for file:line lookups); builds the index if needed.
    func allUnits() throws(DebugInfoError) -> [Unit] { try indexedUnits().units }

    /// The number of compilation units (builds the index).
    public func unitCount() throws(DebugInfoError) -> Int {
        lock.lock(); defer { lock.unlock() }
        return try indexedUnits().units.count
    }

    /// The name (`DW_AT_name`) of the unit that covers `address`.
    public func unitName(at address: UInt64) throws(DebugInfoError) -> String {
        lock.lock(); defer { lock.unlock() }
        return try unit(containing: address).name
    }

    /// The unit's line table, decoded on first use (lock held).
    func lineTable(of unit: Unit) throws(DebugInfoError) -> LineTable {
        if let lines = unit.lines { return lines }
        if let error = unit.linesError { throw error }
        do {
            let table = try LineTable(unitDIE: &unit.die, lowestCode: lowestCodeAddress)
            unit.lines = table
            return table
        } catch {
            unit.linesError = error
            throw error
        }
    }
}
