import Foundation
import Testing
import Inspect

/// `info mtree -f` and `gpa2hva` answers as QEMU 7.2 prints them (no QEMU needed).
@Suite("Memory tree parser")
struct MemoryTreeParserTests {
    /// Abridged from `info mtree -f` on `-M virt,memory-backend=mmdbg-ram -m 256M`, plus a
    /// second RAM range after a hole, and a flat view of another address space first.
    static let sample = """
    FlatView #0
     AS "I/O", root: io
     Root memory region: io
      0000000000000000-000000000000ffff (prio 0, i/o): io

    FlatView #1
     AS "gpex-root", root: bus master container
     Root memory region: (none)
      No rendered FlatView

    FlatView #2
     AS "memory", root: system
     AS "cpu-memory-0", root: system
     Root memory region: system
      0000000000000000-0000000003ffffff (prio 0, romd): virt.flash0
      0000000008000000-0000000008000fff (prio 0, i/o): gic_dist
      0000000009000000-0000000009000fff (prio 0, i/o): pl011
      0000000010000000-000000003efeffff (prio 0, i/o): gpex_mmio_window @0000000010000000
      0000000040000000-000000004fffffff (prio 0, ram): mmdbg-ram
      0000000060000000-0000000060ffffff (prio 0, ram): mmdbg-ram @0000000010000000
      0000004010000000-000000401fffffff (prio 0, i/o): pcie-mmcfg-mmio

    FlatView #3
     AS "cpu-secure-memory-0", root: secure
      0000000000000000-000000000fffffff (prio 0, ram): secure-ram

    """

    @Test func findsTheSystemFlatViewAndItsRAM() throws {
        let ranges = try MemoryTreeParser.flatRanges(Self.sample)
        #expect(ranges.count == 7)
        let ram = ranges.filter(\.isRAM)
        #expect(ram == [
            FlatMemoryRange(start: 0x4000_0000, size: 0x1000_0000, priority: 0, kind: "ram", name: "mmdbg-ram", offsetInRegion: 0),
            FlatMemoryRange(start: 0x6000_0000, size: 0x100_0000, priority: 0, kind: "ram", name: "mmdbg-ram", offsetInRegion: 0x1000_0000),
        ])
        #expect(ranges[0].kind == "romd" && !ranges[0].isRAM)
        #expect(ranges[3].name == "gpex_mmio_window" && ranges[3].offsetInRegion == 0x1000_0000)
        // Another address space's view is reachable by name, and only its own lines count.
        let secure = try MemoryTreeParser.flatRanges(Self.sample, addressSpace: "cpu-secure-memory-0")
        #expect(secure.map(\.name) == ["secure-ram"])
        // The monitor over qRcmd ends its lines with CR LF.
        #expect(try MemoryTreeParser.flatRanges(Self.sample.replacingOccurrences(of: "\n", with: "\r\n")) == ranges)
    }

    @Test func fileLayoutFollowsTheRegionOffsets() throws {
        let layout = try #require(DirectMemorySelector.fileLayout(ranges: try MemoryTreeParser.flatRanges(Self.sample), backendID: "mmdbg-ram"))
        #expect(layout.regions.map(\.backingAddress) == [0, 0x1000_0000])
        #expect(layout.totalSize == 0x1100_0000)
        #expect(DirectMemorySelector.fileLayout(ranges: try MemoryTreeParser.flatRanges(Self.sample), backendID: "other") == nil)
    }

    @Test func badInputGivesOneLine() {
        #expect(throws: MemoryTreeError.noFlatView(addressSpace: "memory")) { try MemoryTreeParser.flatRanges("unknown command: 'info mtree'\n") }
        let garbled = "FlatView #0\n AS \"memory\", root: system\n  0000000040000000-zz (prio 0, ram): ram\n"
        #expect(throws: MemoryTreeError.malformedLine("0000000040000000-zz (prio 0, ram): ram")) { try MemoryTreeParser.flatRanges(garbled) }
        #expect(throws: MemoryTreeError.self) { try MemoryTreeParser.hostVirtualAddress("No memory is mapped at address 0x50000000\r\n") }
    }

    @Test func hostVirtualAddressFromGpa2hva() throws {
        #expect(try MemoryTreeParser.hostVirtualAddress("Host virtual address for 0x40000000 (ram) is 0x7ff9b3fff000\r\n") == 0x7FF9_B3FF_F000)
        #expect(try MemoryTreeParser.hostVirtualAddress("Host virtual address for 0x4ffff000 (mmdbg-ram) is 0x7f0012345000") == 0x7F00_1234_5000)
    }

    @Test func ramFileArgument() throws {
        #expect(try RAMFileArgument(parsing: "/dev/shm/guest") == RAMFileArgument(path: "/dev/shm/guest"))
        #expect(try RAMFileArgument(parsing: "ram.img@0x40000000") == RAMFileArgument(path: "ram.img", guestPhysicalAddress: 0x4000_0000))
        #expect(throws: DirectMemoryUnavailable.self) { try RAMFileArgument(parsing: "ram.img@forty") }
        #expect(throws: DirectMemoryUnavailable.self) { try RAMFileArgument(parsing: "@0x1000") }
    }
}
