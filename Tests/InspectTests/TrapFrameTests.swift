import Inspect
import KernelABI
import Testing

/// The trap frame as vectors.S saves it: what interrupted the kernel, and the interrupted registers.
@Suite struct TrapFrameTests {
    static func bytes(x0: UInt64 = 0, spEL0: UInt64, elr: UInt64, spsr: UInt64, kind: UInt64, esr: UInt64) -> [UInt8] {
        var frame = mm_trap_frame()
        frame.x.0 = x0
        frame.sp_el0 = spEL0
        frame.elr = elr
        frame.spsr = spsr
        frame.kind = kind
        frame.esr = esr
        return withUnsafeBytes(of: frame) { Array($0) }
    }

    @Test func anSVCFromEL0ResumesAfterTheSVCOnTheUserStack() throws {
        let frame = try #require(TrapFrame(bytes: Self.bytes(x0: 7, spEL0: 0xFFF_FFFF_FC20, elr: 0x400104, spsr: 0, kind: 8,
                                                            esr: 0x15 << 26 | 1 << 25)))
        #expect(frame.summary == "SVC from EL0")
        #expect(frame.kind == .synchronous && frame.fromLevel == 0 && frame.resumesAfterTrappingInstruction)
        let registers = frame.registers(frameAddress: 0xFFFF_0000_402A_7EE0)
        #expect(registers[31] == 0xFFF_FFFF_FC20 && registers[32] == 0x400104 && registers[0] == 7)
    }

    @Test func anIRQInTheKernelContinuesOnTheKernelStackAboveTheFrame() throws {
        // ESR still holds the last synchronous exception's syndrome: the kind decides, not ESR.
        let frame = try #require(TrapFrame(bytes: Self.bytes(spEL0: 0x1234, elr: 0xFFFF_0000_4020_0000, spsr: 0x3C5, kind: 5,
                                                            esr: 0x15 << 26)))
        #expect(frame.summary == "irq" && frame.kind == .irq && frame.fromLevel == 1)
        #expect(!frame.resumesAfterTrappingInstruction)
        #expect(frame.interruptedSP(frameAddress: 0x1000) == 0x1000 + UInt64(TrapFrame.size))
        #expect(TrapFrame.size == Int(MM_TRAP_FRAME_SIZE))
    }

    @Test func aDataAbortAndAnUnknownClassAreNamedAndAShortFrameIsRefused() throws {
        let abort = try #require(TrapFrame(bytes: Self.bytes(spEL0: 0, elr: 0x400200, spsr: 0, kind: 8, esr: 0x24 << 26)))
        #expect(abort.summary == "data abort from EL0" && !abort.resumesAfterTrappingInstruction)
        let odd = try #require(TrapFrame(bytes: Self.bytes(spEL0: 0, elr: 0, spsr: 0, kind: 8, esr: 0x2F << 26)))
        #expect(odd.summary == "synchronous exception (EC 0x2f) from EL0")
        #expect(TrapFrame(bytes: Array(repeating: 0, count: TrapFrame.size - 1)) == nil)
    }
}
