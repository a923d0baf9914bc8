import DebugInfo
import Foundation
import Inspect
import Testing

/// DebugInfo on the bundled kernel, checked against the ELF's own symbols
/// (no external tools: those comparisons are DebugInfoToolSystemTests).
@Suite struct KernelDebugInfoTests {
    @Test func everySizedFunctionSymbolHasAScopeWithItsName() throws {
        let (info, elf) = try KernelFixture.open()
        #expect(try info.unitCount() >= 3)
        var checked = 0, withScope = 0
        var mismatches: [String] = []
        for symbol in KernelFixture.functions(elf) {
            guard let scope = try? info.function(containing: symbol.address) else { continue }
            withScope += 1
            let readable = SwiftSymbolNames.shortName(symbol.name) ?? symbol.name
            if scope.name != readable && scope.rawName != symbol.name { mismatches.append("\(symbol.name): \(scope.name)") }
            checked += 1
        }
        // Assembly (boot.S, vectors) has no subprograms; everything compiled does.
        #expect(withScope > 100, "functions with a DWARF scope: \(withScope)")
        #expect(mismatches.count * 50 <= checked, "scope names differ from symbols: \(mismatches.prefix(10))")
    }

    @Test func swiftFunctionsHaveLinesAlthoughTheirUnitsHaveNoAranges() throws {
        let (info, elf) = try KernelFixture.open()
        let mapPage = try #require(elf.symbol(named: "map_page"))
        let location = try info.location(at: mapPage.address)
        #expect(location.file.hasSuffix("Sources/KernelCore/MM/UserPageTables.swift"))
        #expect(location.line > 1)
        let frames = try info.frames(at: mapPage.address)
        #expect(frames.last?.function == "map_page")
        #expect(frames.last?.isInlined == false)
        // An instruction inside: still map_page's unit and file.
        let range = try info.lineRange(at: mapPage.address + 0x2c)
        #expect(range.start <= mapPage.address + 0x2c && mapPage.address + 0x2c < range.end)
    }

    @Test func breakingOnALineFindsItsAddressAndALineWithoutCodeMovesOn() throws {
        let (info, elf) = try KernelFixture.open()
        let mapPage = try #require(elf.symbol(named: "map_page"))
        let entry = try info.location(at: mapPage.address)
        let exact = try info.addresses(file: "UserPageTables.swift", line: entry.line)
        #expect(exact.line == entry.line)
        #expect(exact.addresses.contains(mapPage.address))
        // Line 1 is the file's header comment: the next line with code is chosen.
        let moved = try info.addresses(file: "MM/UserPageTables.swift", line: 1)
        #expect(moved.line > 1 && moved.requestedLine == 1)
        #expect(!moved.addresses.isEmpty)
        #expect(throws: DebugInfoError.self) { try info.addresses(file: "NoSuchFile.swift", line: 3) }
        #expect(try info.sourceFiles().contains { $0.hasSuffix("UserPageTables.swift") })
    }

    @Test func inlinedFramesCarryTheirCallSites() throws {
        let (info, elf) = try KernelFixture.open()
        var found = 0
        for symbol in KernelFixture.functions(elf) {
            for pc in stride(from: symbol.address, to: symbol.address + symbol.size, by: 4) {
                guard let frames = try? info.frames(at: pc), frames.count > 1 else { continue }
                let innerInlined = frames.dropLast().allSatisfy { $0.isInlined }
                let callSitesKnown = frames.dropFirst().allSatisfy { $0.location != nil }
                #expect(innerInlined)
                #expect(frames.last?.isInlined == false)
                #expect(callSitesKnown, "call sites at \(String(pc, radix: 16))")
                found += 1
                break
            }
            if found >= 10 { break }
        }
        #expect(found >= 10, "functions with inlined code found: \(found)")
    }

    @Test func aPCOutsideEveryUnitIsOneClearError() throws {
        let (info, _) = try KernelFixture.open()
        #expect(throws: DebugInfoError.noUnit(0x10)) { try info.location(at: 0x10) }
        #expect(DebugInfoError.noUnit(0x10).description == "no compilation unit covers 0x10")
    }

    @Test func disassemblyOfAFunctionDecodesEveryWordAndNamesBranchTargets() throws {
        let (info, elf) = try KernelFixture.open()
        let fork = try #require(elf.symbol(named: "sys_fork"))
        let bytes = try #require(info.fileBytes(at: fork.address, count: Int(fork.size)))
        let instructions = try info.disassemble(bytes, at: fork.address)
        #expect(instructions.count == Int(fork.size) / 4)
        #expect(instructions.allSatisfy { $0.mnemonic != ".inst" })
        #expect(instructions.contains { $0.isReturn } || instructions.contains { $0.mnemonic == "b" })
        let calls = instructions.filter(\.isCall)
        #expect(!calls.isEmpty)
        for call in calls where call.mnemonic == "bl" {
            let target = try #require(call.branchTarget)
            #expect(elf.symbolicate(target) != nil, "bl target \(String(target, radix: 16)) has no symbol")
        }
        // A word Capstone cannot decode is shown as data and decoding goes on.
        let mixed = try info.disassemble([0xff, 0xff, 0xff, 0xff, 0x1f, 0x20, 0x03, 0xd5], at: 0x1000)
        #expect(mixed.map(\.mnemonic) == [".inst", "nop"])
    }

    @Test func unwindingAtAFunctionEntryReturnsToTheLinkRegister() throws {
        let (info, elf) = try KernelFixture.open()
        let mapPage = try #require(elf.symbol(named: "map_page"))
        let fork = try #require(elf.symbol(named: "sys_fork"))
        #expect(info.hasCallFrameInformation(at: mapPage.address))
        let sp: UInt64 = 0xffff_0000_4100_0f00
        let registers = RegisterSet([RegisterSet.pc: mapPage.address, RegisterSet.sp: sp,
                                     RegisterSet.lr: fork.address + 0x40, RegisterSet.fp: sp + 0x40])
        let caller = try #require(try info.unwindOne(MachineFrame(registers: registers, cfa: nil, method: .registers),
                                                     isInnermost: true, read: WordMemory(words: [:]).read))
        #expect(caller.pc == fork.address + 0x40)
        #expect(caller.registers.sp == sp)
        #expect(caller.method == .debugFrame || caller.method == .ehFrame)
    }

    @Test func theFramePointerFallbackIsMarkedAndBounded() throws {
        let (info, _) = try KernelFixture.open()
        // No CFI covers 0x1000: the x29 chain is followed, and says so.
        let memory = WordMemory(words: [0x8000: 0x8100, 0x8008: 0x2000, 0x8100: 0, 0x8108: 0x3000])
        let registers = RegisterSet([RegisterSet.pc: 0x1000, RegisterSet.sp: 0x7f00, RegisterSet.fp: 0x8000])
        let trace = info.backtrace(from: registers, read: memory.read)
        #expect(trace.frames.map(\.pc) == [0x1000, 0x2000, 0x3000])
        #expect(trace.frames.dropFirst().allSatisfy { $0.method == .framePointer })
        // A chain that points at itself ends, with a reason, within the bound.
        let loop = WordMemory(words: [0x8000: 0x8000, 0x8008: 0x2000])
        let looped = info.backtrace(from: registers, maxDepth: 16, read: loop.read)
        #expect(looped.frames.count <= 16)
        #expect(looped.end.contains("loop") || looped.end.contains("went down"), "\(looped.end)")
        // An unreadable stack ends it with the address.
        let unreadable = info.backtrace(from: registers, read: WordMemory(words: [:]).read)
        #expect(unreadable.frames.count == 1)
        #expect(unreadable.end.contains("0x8000"), "\(unreadable.end)")
    }
}

@Suite struct SwiftClosureNameTests {
    @Test func closuresReadAsClosureInTheirFunction() {
        #expect(SwiftSymbolNames.closureName("$e6Kernel17runMemorySelfTestyyFySpySo7mm_taskVGXEfU_yAEXEfU_")
                == "closure #1 in closure #1 in Kernel.runMemorySelfTest")
        #expect(SwiftSymbolNames.closureName("$e6Kernel17runMemorySelfTestyyF") == nil, "a plain function is shortName's")
        #expect(SwiftSymbolNames.closureName("map_page") == nil)
    }
}
