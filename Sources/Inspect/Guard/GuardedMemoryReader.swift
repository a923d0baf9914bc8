/// Reads guest memory by VIRTUAL address without ever touching device
/// registers: the range is translated with Inspect's own walker (tables
/// cached, one round trip per level for the whole range) and refused when any
/// part of it is mapped with a Device-* MAIR type; otherwise the translated
/// physical pieces are read in one batch.
///
/// Why not the stub's virtual read: on QEMU a gdbstub read of an MMIO page
/// (e.g. the kernel's Device-nGnRnE GIC window at 0xffff000008000000 with
/// -smp 2) can crash QEMU, and GdbRemote is kernel-agnostic. The decision is
/// architectural (MAIR attribute of the leaf), so it holds for any kernel.
///
/// Build one per stop (registers and tables change when the target runs), or
/// call `invalidate(context:)` after a resume:
///
///     let registers = try TranslationRegisters.read(from: client)
///     let reader = GuardedMemoryReader(memory: GdbMemorySource(client: client),
///                                      context: TranslationContext(registers: registers))
///     let bytes = try reader.read(virtual: 0xffff_0000_4020_0000, length: 64)
///
/// With the MMU off (SCTLR.M clear) VA = PA and there is no MAIR to consult:
/// the read goes through unguarded, physically.
public final class GuardedMemoryReader {
    /// Largest range one call reads (16 MiB): the range is checked page by page.
    public static let maximumLength = 1 << 24

    /// Where data is read (uncached: every `read` sees current memory).
    public let memory: any MemorySource
    /// The table cache under `walker`; dropped by `invalidate`.
    public let tableCache: CachingMemorySource
    /// The walker the guard translates with (reads tables through `tableCache`).
    public private(set) var walker: TranslationTableWalker

    /// A guard over `memory` for the translation state `context` (the stopped CPU's registers).
    public init(memory: any MemorySource, context: TranslationContext) {
        self.memory = memory
        tableCache = CachingMemorySource(memory)
        walker = TranslationTableWalker(memory: tableCache, context: context)
    }

    /// Forgets cached tables and adopts the registers of the new stop.
    public func invalidate(context: TranslationContext? = nil) {
        tableCache.invalidate()
        if let context { walker = TranslationTableWalker(memory: tableCache, context: context) }
    }

    /// One contiguous piece of the range inside one page: where it is and what it maps to.
    public struct Piece: Sendable, Hashable {
        public var virtualAddress: UInt64
        public var physicalAddress: UInt64
        public var length: Int

        public init(virtualAddress: UInt64, physicalAddress: UInt64, length: Int) {
            self.virtualAddress = virtualAddress
            self.physicalAddress = physicalAddress
            self.length = length
        }
    }

    /// Translates `[address, address + length)` and refuses it when any page
    /// is unmapped or Device memory. The pieces, in VA order, are what `read` fetches.
    public func check(virtual address: UInt64, length: Int) throws(GuardedReadError) -> [Piece] {
        guard length >= 0, length <= GuardedMemoryReader.maximumLength else {
            throw .badRange(address: address, length: length,
                            reason: length < 0 ? "negative length" : "more than \(GuardedMemoryReader.maximumLength) bytes at once")
        }
        guard length > 0 else { return [] }
        guard !address.addingReportingOverflow(UInt64(length - 1)).overflow else {
            throw .badRange(address: address, length: length, reason: "the range runs past the top of the address space")
        }
        // Split at every 4 KiB boundary: the smallest granule, so no leaf changes inside a piece.
        let pageSize: UInt64 = 4096
        var starts: [UInt64] = [], lengths: [Int] = []
        var at = address, remaining = UInt64(length)
        while remaining > 0 {
            let piece = min(pageSize - (at & (pageSize - 1)), remaining)
            starts.append(at)
            lengths.append(Int(piece))
            remaining -= piece
            at &+= piece
        }
        let translations: [Translation]
        do { translations = try walker.translate(starts) } catch { throw .translation(error) }
        var pieces: [Piece] = []
        for (translation, length) in zip(translations, lengths) {
            let va = translation.virtualAddress
            guard translation.isMapped, let pa = translation.physicalAddress else {
                throw .notMapped(virtualAddress: va, reason: translation.fault?.description ?? "no leaf")
            }
            if let type = translation.attributes?.memoryType, type.isDevice {
                throw .deviceMemory(virtualAddress: va, physicalAddress: pa, memoryType: type.description)
            }
            if let last = pieces.last, last.virtualAddress &+ UInt64(last.length) == va,
               last.physicalAddress &+ UInt64(last.length) == pa {
                pieces[pieces.count - 1].length += length   // physically contiguous: one request
            } else {
                pieces.append(Piece(virtualAddress: va, physicalAddress: pa, length: length))
            }
        }
        return pieces
    }

    /// The `length` bytes at virtual `address`, or a one-line refusal.
    public func read(virtual address: UInt64, length: Int) throws(GuardedReadError) -> [UInt8] {
        try inPhysicalScope { () throws(GuardedReadError) -> [UInt8] in
            let pieces = try check(virtual: address, length: length)
            let contents: [[UInt8]]
            do throws(MemoryError) {
                contents = try memory.read(pieces.map { MemoryRequest(.physical, address: $0.physicalAddress, length: $0.length) })
            } catch {
                throw .memory(error)
            }
            return Array(contents.joined())
        }
    }

    /// Over a gdbstub, enters QEMU's physical-memory mode once for the walk and the read (a direct source needs none).
    private func inPhysicalScope<T>(_ body: () throws(GuardedReadError) -> T) throws(GuardedReadError) -> T {
        let scoped = (memory as? any PhysicalScopedMemorySource) ?? ((memory as? CachingMemorySource)?.underlying as? any PhysicalScopedMemorySource)
        guard let scoped else { return try body() }
        return try scoped.withPhysicalMode(body)
    }
}
