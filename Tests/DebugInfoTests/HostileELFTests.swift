import DebugInfo
import Foundation
import Inspect
import Testing

/// Bad input: every file gives an error value (one line) or answers, never a crash or a hang.
@Suite struct HostileELFTests {
    /// A scratch copy of the kernel with `edit` applied.
    private func variant(_ name: String, _ edit: (inout [UInt8], ELFFile) -> Void) throws -> String {
        let path = try KernelFixture.path()
        let elf = try ELFFile(path: path)
        var bytes = elf.bytes
        edit(&bytes, elf)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("debuginfo-\(getpid())-\(name).elf").path
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// Every question DebugInfo answers, asked of a file: errors are fine, crashes are not.
    private func exercise(_ path: String, at pc: UInt64) -> [String] {
        var errors: [String] = []
        func note(_ body: () throws(DebugInfoError) -> Void) {
            do { try body() } catch { errors.append(error.description) }
        }
        let info: DebugInfoFile
        do { info = try DebugInfoFile(path: path) } catch { return [error.description] }
        if let missing = info.missingDebugInfo { errors.append(missing.description) }
        note { () throws(DebugInfoError) in _ = try info.unitCount() }
        note { () throws(DebugInfoError) in _ = try info.location(at: pc) }
        note { () throws(DebugInfoError) in _ = try info.frames(at: pc) }
        note { () throws(DebugInfoError) in _ = try info.addresses(file: "UserPageTables.swift", line: 140) }
        note { () throws(DebugInfoError) in _ = try info.sourceFiles() }
        _ = info.backtrace(from: RegisterSet([RegisterSet.pc: pc, RegisterSet.sp: 0x1000]), read: { _, _ in throw CocoaError(.fileReadUnknown) })
        return errors
    }

    @Test func truncatedFilesGiveErrorsNotCrashes() throws {
        let path = try KernelFixture.path()
        let elf = try ELFFile(path: path)
        let pc = try #require(elf.symbol(named: "map_page")).address
        for fraction in [0.0, 0.001, 0.1, 0.5, 0.9, 0.99] {
            let file = try variant("truncated-\(fraction)") { bytes, _ in bytes = Array(bytes.prefix(Int(Double(bytes.count) * fraction))) }
            defer { try? FileManager.default.removeItem(atPath: file) }
            let errors = exercise(file, at: pc)
            #expect(errors.allSatisfy { !$0.contains("\n") && !$0.isEmpty })
            if fraction < 0.5 { #expect(!errors.isEmpty, "truncated to \(fraction): no error") }
        }
    }

    @Test func aZeroedDebugInfoSectionIsAnError() throws {
        let file = try variant("zeroed") { bytes, elf in
            for section in elf.sections where section.name == ".debug_info" {
                for i in Int(section.fileOffset)..<Int(section.fileOffset + section.size) { bytes[i] = 0 }
            }
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        let pc = try #require(try ELFFile(path: KernelFixture.path()).symbol(named: "map_page")).address
        let errors = exercise(file, at: pc)
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { !$0.contains("\n") })
    }

    @Test func garbageInDebugSectionsNeverCrashes() throws {
        var generator = SystemRandomNumberGenerator()
        let pc = try #require(try ELFFile(path: KernelFixture.path()).symbol(named: "map_page")).address
        for round in 0..<4 {
            let file = try variant("garbage-\(round)") { bytes, elf in
                for section in elf.sections where section.name.hasPrefix(".debug_") && section.size > 0 {
                    for _ in 0..<64 {
                        let i = Int(section.fileOffset) + Int.random(in: 0..<Int(section.size), using: &generator)
                        bytes[i] = UInt8.random(in: 0...255, using: &generator)
                    }
                }
            }
            defer { try? FileManager.default.removeItem(atPath: file) }
            _ = exercise(file, at: pc)
        }
    }

    @Test func anELFWithoutDWARFOpensAndSaysSo() throws {
        // Renaming the .debug_* sections hides them from libdw, as stripping would.
        let file = try variant("nodwarf") { bytes, elf in
            let pattern = Array(".debug_".utf8)
            var i = 0
            while i + pattern.count <= bytes.count {
                if bytes[i] == 0x2e && Array(bytes[i..<i + pattern.count]) == pattern { bytes[i + 1] = UInt8(ascii: "n") }
                i += 1
            }
        }
        defer { try? FileManager.default.removeItem(atPath: file) }
        let info = try DebugInfoFile(path: file)
        #expect(!info.hasDebugInfo)
        #expect(info.missingDebugInfo == .noDebugInfo(path: file))
        #expect(throws: DebugInfoError.noDebugInfo(path: file)) { try info.location(at: 0x1000) }
        // Disassembly still works from the file's bytes.
        let elf = try ELFFile(path: file)
        let fork = try #require(elf.symbol(named: "sys_fork"))
        let bytes = try #require(info.fileBytes(at: fork.address, count: 16))
        #expect(try info.disassemble(bytes, at: fork.address).count == 4)
    }

    @Test func notAnELFOrNoFileIsOneLine() throws {
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("debuginfo-\(getpid())-junk").path
        try Data("not an elf at all".utf8).write(to: URL(fileURLWithPath: junk))
        defer { try? FileManager.default.removeItem(atPath: junk) }
        #expect(throws: DebugInfoError.self) { try DebugInfoFile(path: junk) }
        #expect(throws: DebugInfoError.self) { try DebugInfoFile(path: "/nonexistent/kernel.elf") }
        do { _ = try DebugInfoFile(path: "/nonexistent/kernel.elf") } catch {
            #expect(error.description == "cannot open /nonexistent/kernel.elf: No such file or directory")
        }
    }
}
