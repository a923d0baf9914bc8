import Testing
import Inspect
import KernelABI
import TestSupport

/// The device-memory guard on synthetic tables: what it refuses, what it
/// reads, and what it costs.
@Suite struct GuardedMemoryReaderTests {
    func sample() -> (SampleAddressSpace, GuardedMemoryReader) {
        let sample = SampleAddressSpace()
        return (sample, GuardedMemoryReader(memory: sample.space.memory, context: sample.space.context))
    }

    @Test func refusesADeviceMappingWithOneLine() throws {
        let (_, reader) = sample()
        #expect(throws: GuardedReadError.deviceMemory(virtualAddress: 0xFFFF_0000_0900_0010, physicalAddress: 0x0900_0010,
                                                      memoryType: "Device-nGnRnE")) {
            try reader.read(virtual: 0xFFFF_0000_0900_0010, length: 4)
        }
        do { _ = try reader.read(virtual: 0xFFFF_0000_0900_0000, length: 8) } catch {
            #expect(error.description == "refusing to read 0xffff000009000000: it maps 0x9000000 as Device-nGnRnE memory (device registers; a read has side effects)")
        }
    }

    @Test func refusesARangeThatOnlyEndsInDeviceMemory() throws {
        let sample = SampleAddressSpace()
        // Normal page just below the device page.
        sample.space.upper.map(0xFFFF_0000_08FF_F000, to: 0x4500_0000, leafLevel: 3, attributes: Bits.kernelData)
        let reader = GuardedMemoryReader(memory: sample.space.memory, context: sample.space.context)
        #expect(try reader.read(virtual: 0xFFFF_0000_08FF_F000, length: 4096).count == 4096)
        #expect(throws: GuardedReadError.self) { try reader.read(virtual: 0xFFFF_0000_08FF_FFF0, length: 32) }
        #expect(sample.space.memory.batches.joined().allSatisfy { $0.address < 0x0900_0000 || $0.address >= 0x0A00_0000 })
    }

    @Test func readsNormalMemoryAcrossPhysicallyScatteredPages() throws {
        let (sample, reader) = sample()
        // VA 0x1003ff8...0x1004007 spans the last data page (PA 0x42003000) and the lone page at PA 0x43000000.
        sample.space.memory.store64(0x1111_2222_3333_4444, at: 0x4200_3FF8)
        sample.space.memory.store64(0x5555_6666_7777_8888, at: 0x4300_0000)
        let bytes = try reader.read(virtual: 0x100_3FF8, length: 16)
        #expect(bytes.littleEndianUInt64(at: 0) == 0x1111_2222_3333_4444)
        #expect(bytes.littleEndianUInt64(at: 8) == 0x5555_6666_7777_8888)
        let pieces = try reader.check(virtual: 0x40_0000, length: 0x10000)
        #expect(pieces == [GuardedMemoryReader.Piece(virtualAddress: 0x40_0000, physicalAddress: 0x4100_0000, length: 0x10000)])
    }

    @Test func costsOneRoundTripPerLevelThenOnlyTheDataRead() throws {
        let (sample, reader) = sample()
        sample.space.memory.resetCounters()
        _ = try reader.read(virtual: 0x40_0000, length: 0x10000)   // 16 pages
        #expect(sample.space.memory.roundTrips == 4 + 1)
        sample.space.memory.resetCounters()
        _ = try reader.read(virtual: 0x40_0000, length: 0x10000)
        #expect(sample.space.memory.roundTrips == 1)
        reader.invalidate()
        sample.space.memory.resetCounters()
        _ = try reader.read(virtual: 0x40_0000, length: 8)
        #expect(sample.space.memory.roundTrips == 4 + 1)
    }

    @Test func unmappedAndImpossibleRangesAreOneLineErrors() throws {
        let (_, reader) = sample()
        #expect(throws: GuardedReadError.self) { try reader.read(virtual: 0x100_5000, length: 8) }
        #expect(throws: GuardedReadError.badRange(address: UInt64.max - 3, length: 8,
                                                  reason: "the range runs past the top of the address space")) {
            try reader.read(virtual: UInt64.max - 3, length: 8)
        }
        #expect(throws: GuardedReadError.self) { try reader.read(virtual: 0x40_0000, length: -1) }
        #expect(throws: GuardedReadError.self) { try reader.read(virtual: 0x40_0000, length: GuardedMemoryReader.maximumLength + 1) }
        #expect(try reader.read(virtual: 0x100_5000, length: 0).isEmpty)
        do { _ = try reader.read(virtual: 0x100_5000, length: 8) } catch {
            #expect(error.description.hasPrefix("cannot read 0x1005000: not mapped ("))
            #expect(!error.description.contains("\n"))
        }
    }
}

/// The guard against the real kernel with two CPUs: the kernel's GIC window
/// is refused without a single access to it, and QEMU lives on.
@Suite("GuardedMemoryReader under QEMU -smp 2", .serialized)
struct QEMUGuardedMemoryReaderSystemTests {
    @Test func theGICWindowIsRefusedAndQEMUSurvives() throws {
        let kernel = try StoppedKernel(smp: 2)
        defer { kernel.stop() }
        let reader = GuardedMemoryReader(memory: kernel.memory, context: try kernel.context())
        let gic = MM_LINEAR_MAP_BASE + MM_DEVICE_WINDOW_PA
        #expect(throws: GuardedReadError.deviceMemory(virtualAddress: gic, physicalAddress: MM_DEVICE_WINDOW_PA,
                                                      memoryType: "Device-nGnRnE")) {
            try reader.read(virtual: gic, length: 64)
        }
        let uart = MM_LINEAR_MAP_BASE + 0x0900_0000
        #expect(throws: GuardedReadError.self) { try reader.read(virtual: uart, length: 4) }
        #expect(kernel.qemu.isRunning)

        // Normal memory still reads, and agrees with the stub's own virtual read.
        let log = try kernel.elf.address(of: "mm_log")
        let guarded = try reader.read(virtual: log, length: 16)
        #expect(guarded.littleEndianUInt64(at: 0) == MM_LOG_MAGIC)
        let tasks = try kernel.elf.address(of: "mm_tasks")
        let length = 3 * 4096 + 100
        let before = kernel.memory.exchanges
        let span = try reader.read(virtual: tasks + 0x10, length: length)
        #expect(kernel.memory.exchanges - before <= 1)   // tables cached by the mm_log read: only the data
        #expect(span == (try kernel.memory.read(MemoryRequest(.virtual, address: tasks + 0x10, length: length))))
        #expect(kernel.qemu.isRunning)
        _ = try kernel.client.readRegister("pc")
    }
}
