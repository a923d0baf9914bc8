import Testing
@testable import GdbRemote

@Suite("Packet families: stop replies, thread ids, features, target descriptions")
struct PacketParsingTests {
    @Test func stopReplies() {
        let bp = StopReason(packet: Array("T05thread:p01.02;".utf8))
        #expect(bp?.signal == 5)
        #expect(bp?.thread == ThreadID(process: 1, thread: 2))
        let watch = StopReason(packet: Array("T05watch:0000000040081008;thread:p01.01;".utf8))
        #expect(watch?.watchpoint == .init(kind: .writeWatchpoint, address: 0x4008_1008))
        #expect(StopReason(packet: Array("T05rwatch:10;".utf8))?.watchpoint?.kind == .readWatchpoint)
        #expect(StopReason(packet: Array("T05awatch:10;".utf8))?.watchpoint?.kind == .accessWatchpoint)
        #expect(StopReason(packet: Array("T02".utf8))?.signal == 2)
        #expect(StopReason(packet: Array("S0b".utf8))?.signal == 11)
        #expect(StopReason(packet: Array("W00".utf8))?.kind == .exited(status: 0))
        #expect(StopReason(packet: Array("W01;process:a".utf8))?.kind == .exited(status: 1))
        #expect(StopReason(packet: Array("X09".utf8))?.kind == .terminated(signal: 9))
        #expect(StopReason(packet: Array("T05swbreak:;".utf8))?.isBreakpoint == true)
        // Not stop replies: a qOffsets answer, OK, hex data.
        #expect(StopReason(packet: Array("Text=0;Data=0;Bss=0".utf8)) == nil)
        #expect(StopReason(packet: Array("OK".utf8)) == nil)
        #expect(StopReason(packet: Array("00ff".utf8)) == nil)
    }

    @Test func threadIDs() {
        #expect(ThreadID(parsing: "p01.02") == ThreadID(process: 1, thread: 2))
        #expect(ThreadID(parsing: "p1.-1") == ThreadID(process: 1, thread: -1))
        #expect(ThreadID(parsing: "0a") == ThreadID(thread: 10))
        #expect(ThreadID(parsing: "-1") == .all)
        #expect(ThreadID(parsing: "px") == nil)
        #expect(ThreadID(process: 1, thread: 2).encoded(multiprocess: true) == "p1.2")
        #expect(ThreadID(thread: 2).encoded(multiprocess: false) == "2")
    }

    @Test func qemuFeatures() {
        let f = StubFeatures(reply: "PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+")
        #expect(f.packetSize == 4096)
        #expect(f.supports("qXfer:features:read"))
        #expect(f.supports("multiprocess"))
        #expect(!f.supports("QStartNoAckMode"))
        #expect(StubFeatures(reply: "").packetSize == 0x400)
    }

    @Test func targetDescriptionWithIncludes() throws {
        let files = [
            "target.xml": """
            <?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">
            <target><architecture>aarch64</architecture>
            <xi:include href="aarch64-core.xml"/><xi:include href="system-registers.xml"/></target>
            """,
            "aarch64-core.xml": """
            <feature name="org.gnu.gdb.aarch64.core">
              <reg name="x0" bitsize="64"/><reg name="x1" bitsize="64"/>
              <reg name="pc" bitsize="64" type="code_ptr" regnum="32"/><reg name="cpsr" bitsize="32"/>
            </feature>
            """,
            "system-registers.xml": """
            <feature name='org.qemu.gdb.arm.sys.regs'><reg name="SCTLR" bitsize="64" regnum="74" group="cp_regs"/>
            <reg name="TTBR1_EL1" bitsize="64" regnum="120" group="cp_regs"/></feature>
            """,
        ]
        var fetched: [String] = []
        let map = try TargetDescriptionParser.registerMap(root: "target.xml") { annex in
            fetched.append(annex)
            return files[annex] ?? ""
        }
        #expect(fetched == ["target.xml", "aarch64-core.xml", "system-registers.xml"])
        #expect(map.register(named: "x1")?.number == 1)
        #expect(map.register(named: "pc")?.number == 32)
        #expect(map.register(named: "cpsr")?.number == 33)
        #expect(map.register(named: "cpsr")?.bitSize == 32)
        #expect(map.register(named: "ttbr1_el1")?.number == 120)
        #expect(map.register(named: "SCTLR_EL1")?.name == "SCTLR")
        #expect(map.register(named: "SCTLR")?.feature == "org.qemu.gdb.arm.sys.regs")
        #expect(map.register(named: "nonexistent") == nil)
        #expect(map.generalRegisterLayout(byteCount: 16).map { $0.0.name } == ["x0", "x1"])
    }
}
