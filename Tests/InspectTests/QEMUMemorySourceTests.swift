import Testing
import Inspect
import KernelABI
import TestSupport

/// GdbMemorySource against QEMU's stub: virtual and physical reads agree,
/// physical mode is scoped and restored, one bad range fails alone.
@Suite("GdbMemorySource under QEMU", .serialized)
struct QEMUMemorySourceSystemTests {
    @Test func virtualAndPhysicalReadsAgreeAndPhysicalModeIsRestored() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        let source = kernel.memory
        let layout = try kernel.elf.address(of: "mm_layout")
        let requests = [MemoryRequest(.virtual, address: layout, length: KernelLayout.recordSize),
                        MemoryRequest(.physical, address: KernelSymbols.physical(layout), length: KernelLayout.recordSize)]
        let before = source.exchanges
        let replies = try source.read(requests)
        #expect(source.exchanges - before == 2)    // one exchange per address space
        #expect(replies[0] == replies[1])
        #expect(replies[0] == (try kernel.elf.contents(at: layout, length: KernelLayout.recordSize)))
        // Outside a scope the source restored virtual mode: a virtual read still works.
        #expect(try kernel.client.qemu.isPhysicalMemoryMode() == false)
        let inScope = try source.withPhysicalMode { () throws(MemoryError) -> Bool in
            let on = (try? kernel.client.qemu.isPhysicalMemoryMode()) ?? false
            let each = try source.readEach([requests[0], requests[1]])
            if case .success = each[0] { return false }            // virtual refused inside the scope
            guard case .success(let bytes) = each[1], bytes == replies[1] else { return false }
            return on
        }
        #expect(inScope)
        #expect(try kernel.client.qemu.isPhysicalMemoryMode() == false)
    }

    @Test func oneUnreadableRangeFailsAloneAndTheCacheKeepsTheRest() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        let cache = CachingMemorySource(kernel.memory)
        let good = MemoryRequest(.physical, address: MM_KERNEL_LOAD_PA, length: 4096)
        let gic = MemoryRequest(.physical, address: 0x0800_0000, length: 4096)   // refused: the GIC crashes QEMU when read
        let unmapped = MemoryRequest(.virtual, address: 0xDEAD_BEEF_000, length: 8)
        let results = try cache.readEach([good, gic, unmapped])
        guard case .success(let bytes) = results[0] else { Issue.record("the good range failed: \(results[0])"); return }
        #expect(bytes.count == 4096)
        guard case .failure(let refused) = results[1], case .failure(let missing) = results[2] else {
            Issue.record("bad ranges did not fail: \(results)")
            return
        }
        #expect(refused.description.contains("GIC"))
        #expect(missing.description.contains("0xdeadbeef000"))
        #expect(cache.cachedRangeCount == 1)
        #expect(throws: MemoryError.self) { try cache.read([good, unmapped]) }
    }
}
