#if hasFeature(Embedded)
import KernelSupport
import KernelCore

// STOPGAP until kernel part 1's boot (device tree, page pool over the RAM
// QEMU reports, kernel command line) lands in main.swift: just enough to
// start user space. Delete this file when merging that work.
public enum BootStopgap {
    /// Puts the RAM between the kernel image and 0x48000000 (-m 128M)
    /// under the page allocator.
    public static func initializePagePool() {
        let firstPA = (mm_kernel_end_va() - MM_LINEAR_MAP_BASE + MM_PAGE_SIZE - 1) & MM_PAGE_MASK
        let endPA: UInt64 = MM_RAM_BASE + 128 * 1024 * 1024
        mm_pool_init(firstPA, (endPA - firstPA) / MM_PAGE_SIZE)
    }

    /// The value of /chosen/bootargs in the device tree QEMU passed, or an
    /// empty buffer.
    public static func commandLine() -> UnsafeRawBufferPointer {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        guard mm_boot_dtb != 0 else { return empty }
        let blob = UnsafeRawPointer(bitPattern: UInt(paToKva(mm_boot_dtb)))!
        func be32(_ offset: Int) -> UInt32 { UInt32(bigEndian: blob.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        guard be32(0) == 0xD00D_FEED else { return empty }
        let structure = Int(be32(8)), strings = Int(be32(12)), structureSize = Int(be32(36))
        var offset = structure
        var depth = 0
        var inChosen = false
        while offset < structure + structureSize {
            let token = be32(offset)
            offset += 4
            switch token {
            case 1:  // FDT_BEGIN_NODE
                let name = blob + offset
                var length = 0
                while name.load(fromByteOffset: length, as: UInt8.self) != 0 { length += 1 }
                depth += 1
                inChosen = depth == 2 && cStringEquals(name, "chosen")
                offset += (length + 1 + 3) & ~3
            case 2:  // FDT_END_NODE
                depth -= 1
                inChosen = false
            case 3:  // FDT_PROP
                let length = Int(be32(offset)), nameOffset = Int(be32(offset + 4))
                let value = blob + offset + 8
                if inChosen && cStringEquals(blob + strings + nameOffset, "bootargs") {
                    return UnsafeRawBufferPointer(start: value, count: max(0, length - 1))  // without the NUL
                }
                offset += 8 + ((length + 3) & ~3)
            case 4: continue  // FDT_NOP
            default: return empty  // FDT_END or garbage
            }
        }
        return empty
    }

    private static func cStringEquals(_ pointer: UnsafeRawPointer, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in
            for i in 0..<expected.count where pointer.load(fromByteOffset: i, as: UInt8.self) != expected[i] { return false }
            return pointer.load(fromByteOffset: expected.count, as: UInt8.self) == 0
        }
    }
}
#endif
