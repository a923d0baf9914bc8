import Testing
import KernelSupport
@testable import KernelCore

/// Builds ELF64 AArch64 executables byte by byte: the file header, the
/// program headers, then each segment's file bytes.
struct ELFBuilder {
    struct Segment {
        var type: UInt32 = 1  // PT_LOAD
        var flags: UInt32
        var vaddr: UInt64
        var contents: [UInt8]
        var memorySize: UInt64? = nil
    }

    var entry: UInt64 = MM_TEXT_BASE
    var machine: UInt16 = 183
    var type: UInt16 = 2
    var segments: [Segment]

    func build() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64 + 56 * segments.count)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { out[offset + i] = b } }
        }
        out[0] = 0x7F; out[1] = 0x45; out[2] = 0x4C; out[3] = 0x46
        out[4] = 2; out[5] = 1; out[6] = 1
        put(type, at: 16); put(machine, at: 18); put(UInt32(1), at: 20)
        put(entry, at: 24); put(UInt64(64), at: 32)
        put(UInt16(64), at: 52); put(UInt16(56), at: 54); put(UInt16(segments.count), at: 56)
        for (i, segment) in segments.enumerated() {
            let ph = 64 + 56 * i
            let offset = UInt64(out.count)
            put(segment.type, at: ph); put(segment.flags, at: ph + 4)
            put(offset, at: ph + 8); put(segment.vaddr, at: ph + 16); put(segment.vaddr, at: ph + 24)
            put(UInt64(segment.contents.count), at: ph + 32)
            put(segment.memorySize ?? UInt64(segment.contents.count), at: ph + 40)
            put(UInt64(4096), at: ph + 48)
            out += segment.contents
        }
        return out
    }

    /// The shape of our user programs: R+X text at TEXT_BASE, R+W data with
    /// bss at DATA_BASE.
    static var userProgram: ELFBuilder {
        ELFBuilder(segments: [
            Segment(flags: 5, vaddr: MM_TEXT_BASE, contents: [0xC0, 0x03, 0x5F, 0xD6]),
            Segment(type: 0x6474_E551, flags: 6, vaddr: 0, contents: []),  // PT_GNU_STACK: skipped
            Segment(flags: 6, vaddr: MM_DATA_BASE, contents: [1, 2, 3, 4, 5, 6, 7, 8], memorySize: 0x2000),
        ])
    }
}

func parse(_ bytes: [UInt8]) throws(ELFError) -> (entry: UInt64, segments: [ELFLoadSegment]) {
    var result: Result<(UInt64, [ELFLoadSegment]), ELFError> = .failure(.badMagic)
    bytes.withUnsafeBytes { raw in
        do throws(ELFError) {
            let image = try ELF64Image(raw)
            result = .success((image.entry, (0..<image.programHeaderCount).compactMap { image.loadSegment(at: $0) }))
        } catch { result = .failure(error) }
    }
    return try result.get()
}

@Suite("ELF64 program headers") struct ELF64Tests {
    @Test func parsesEntryAndLoadSegmentsSkippingOthers() throws {
        let (entry, segments) = try parse(ELFBuilder.userProgram.build())
        #expect(entry == MM_TEXT_BASE)
        #expect(segments.count == 2)
        #expect(segments[0].virtualAddress == MM_TEXT_BASE)
        #expect(segments[0].isExecutable && !segments[0].isWritable)
        #expect(segments[0].fileSize == 4 && segments[0].memorySize == 4)
        #expect(segments[1].virtualAddress == MM_DATA_BASE)
        #expect(segments[1].isWritable && !segments[1].isExecutable)
        #expect(segments[1].fileSize == 8 && segments[1].memorySize == 0x2000)
        #expect(segments[1].end == MM_DATA_BASE + 0x2000)
    }

    @Test func fileBytesAreTheSegmentContents() throws {
        let bytes = ELFBuilder.userProgram.build()
        try bytes.withUnsafeBytes { raw in
            let image = try ELF64Image(raw)
            let data = image.loadSegment(at: 2)!
            #expect(Array(image.fileBytes(of: data)) == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test func refusesTruncatedImage() {
        #expect(throws: ELFError.truncated(needed: 64, available: 10)) { try parse(Array(ELFBuilder.userProgram.build().prefix(10))) }
    }

    @Test func refusesBadMagic() {
        var bytes = ELFBuilder.userProgram.build()
        bytes[1] = 0x46
        #expect(throws: ELFError.badMagic) { try parse(bytes) }
    }

    @Test func refuses32BitOrBigEndian() {
        var bytes = ELFBuilder.userProgram.build()
        bytes[4] = 1
        #expect(throws: ELFError.notELF64LittleEndian) { try parse(bytes) }
        bytes[4] = 2; bytes[5] = 2
        #expect(throws: ELFError.notELF64LittleEndian) { try parse(bytes) }
    }

    @Test func refusesOtherMachineOrSharedObject() {
        var builder = ELFBuilder.userProgram
        builder.machine = 62  // x86-64
        #expect(throws: ELFError.notAArch64Executable(machine: 62, type: 2)) { try parse(builder.build()) }
        builder.machine = 183; builder.type = 3  // ET_DYN
        #expect(throws: ELFError.notAArch64Executable(machine: 183, type: 3)) { try parse(builder.build()) }
    }

    @Test func refusesProgramHeadersPastTheEnd() {
        var bytes = ELFBuilder.userProgram.build()
        bytes[56] = 200  // e_phnum
        #expect(throws: ELFError.programHeadersOutOfBounds) { try parse(bytes) }
    }

    @Test func refusesSegmentBytesPastTheEnd() {
        var bytes = ELFBuilder.userProgram.build()
        bytes[64 + 56 * 2 + 32] = 0xFF  // data p_filesz
        #expect(throws: ELFError.segmentOutOfBounds(index: 2)) { try parse(bytes) }
    }

    @Test func refusesFileSizeLargerThanMemorySize() {
        var builder = ELFBuilder.userProgram
        builder.segments[2].memorySize = 4
        #expect(throws: ELFError.segmentFileSizeExceedsMemorySize(index: 2)) { try parse(builder.build()) }
    }

    @Test func refusesImageWithoutLoadSegments() {
        let builder = ELFBuilder(segments: [.init(type: 4, flags: 4, vaddr: 0, contents: [])])
        #expect(throws: ELFError.noLoadableSegment) { try parse(builder.build()) }
    }
}

@Suite("Region permission choice") struct UserSegmentPermissionsTests {
    let readWriteNoExecute = MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN

    func segment(flags: UInt32, at vaddr: UInt64, size: UInt64 = 0x1000) -> ELFLoadSegment {
        ELFLoadSegment(virtualAddress: vaddr, memorySize: size, fileOffset: 0, fileSize: 0, flags: flags)
    }

    @Test func textIsReadOnlyAndExecutableAtEL0() throws {
        let flags = try UserSegmentPermissions.leafFlags(for: segment(flags: 5, at: MM_TEXT_BASE), index: 0)
        #expect(flags == MM_TD_USER_TEXT_FLAGS)
        #expect(flags & MM_TD_AP_RO != 0, "a store to text must raise a permission fault")
        #expect(flags & MM_TD_AP_EL0 != 0)
        #expect(flags & MM_TD_UXN == 0, "EL0 must be able to execute text")
        #expect(flags & MM_TD_PXN != 0, "the kernel never executes user pages")
    }

    @Test func dataIsReadWriteAndNeverExecutable() throws {
        let flags = try UserSegmentPermissions.leafFlags(for: segment(flags: 6, at: MM_DATA_BASE), index: 1)
        #expect(flags == readWriteNoExecute)
        #expect(flags & MM_TD_AP_RO == 0)
        #expect(flags & MM_TD_UXN != 0 && flags & MM_TD_PXN != 0)
    }

    @Test func readOnlyDataIsReadOnlyAndNeverExecutable() throws {
        let flags = try UserSegmentPermissions.leafFlags(for: segment(flags: 4, at: MM_DATA_BASE), index: 1)
        #expect(flags == readWriteNoExecute | MM_TD_AP_RO)
    }

    @Test func writableExecutableIsRefused() {
        #expect(throws: ELFError.writableAndExecutable(index: 3)) {
            try UserSegmentPermissions.leafFlags(for: segment(flags: 7, at: MM_TEXT_BASE), index: 3)
        }
    }

    @Test func executableOutsideTextRegionIsRefused() {
        #expect(throws: ELFError.segmentOutsideUserRegions(index: 0, vaddr: MM_DATA_BASE)) {
            try UserSegmentPermissions.leafFlags(for: segment(flags: 5, at: MM_DATA_BASE), index: 0)
        }
        // Text that runs over into the data region.
        #expect(throws: ELFError.segmentOutsideUserRegions(index: 0, vaddr: MM_DATA_BASE - 0x1000)) {
            try UserSegmentPermissions.leafFlags(for: segment(flags: 5, at: MM_DATA_BASE - 0x1000, size: 0x2000), index: 0)
        }
    }

    @Test func dataInHeapStackOrBelowTextIsRefused() {
        for vaddr in [MM_HEAP_BASE, MM_STACK_LOW, 0, MM_TEXT_BASE - 0x1000] {
            #expect(throws: ELFError.segmentOutsideUserRegions(index: 1, vaddr: vaddr)) {
                try UserSegmentPermissions.leafFlags(for: segment(flags: 6, at: vaddr), index: 1)
            }
        }
    }

    @Test func wrappingSegmentIsRefused() {
        #expect(throws: ELFError.segmentOutsideUserRegions(index: 1, vaddr: MM_DATA_BASE)) {
            try UserSegmentPermissions.leafFlags(for: segment(flags: 6, at: MM_DATA_BASE, size: UInt64.max), index: 1)
        }
    }
}
