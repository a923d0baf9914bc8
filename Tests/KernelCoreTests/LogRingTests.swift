import Testing
import KernelSupport
@testable import KernelCore

extension KernelGlobals {
    @Suite("Log ring") struct LogRingTests {
        @Test func appendWrapsAroundAndCountsEveryByte() {
            mm_log.head = 0
            let size = Int(MM_LOG_RING_SIZE)
            for i in 0..<(size + 5) { LogRing.append(UInt8(truncatingIfNeeded: i)) }
            #expect(mm_log.head == UInt64(size + 5))
            let first = withUnsafeMutablePointer(to: &mm_log) {
                (UnsafeMutableRawPointer($0) + Int(mm_abi_offsetof_log_buf())).load(as: UInt8.self)
            }
            // Byte number `size` (value size & 0xff) overwrote slot 0.
            #expect(first == UInt8(truncatingIfNeeded: size))
        }
    }
}
