import Testing
import Foundation
import KernelSupport
@testable import KernelCore

/// The real init image scripts/build-kernel.sh links (and embeds in the
/// kernel), through the same parser and permission choice the loader uses.
@Suite("The built init ELF") struct UserProgramImageTests {
    func initImage() throws -> [UInt8] {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir.deleteLastPathComponent()
        }
        let path = dir.appendingPathComponent(".build-kernel/user/Init.elf").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey:
                "\(path) is missing: run `scripts/build-kernel.sh` (scripts/test.sh does)"])
        }
        return [UInt8](data)
    }

    @Test func textIsReadOnlyExecutableAndDataIsNoExecute() throws {
        let (entry, segments) = try parse(try initImage())
        #expect(entry == MM_TEXT_BASE, "crt0's _start opens the text segment")
        #expect(segments.count == 2)
        let text = try #require(segments.first { $0.isExecutable })
        let data = try #require(segments.first { $0.isWritable })
        #expect(text.virtualAddress == MM_TEXT_BASE && text.end <= MM_DATA_BASE)
        #expect(data.virtualAddress == MM_DATA_BASE && data.end <= MM_HEAP_BASE)
        #expect(try UserSegmentPermissions.leafFlags(for: text, index: 0) == MM_TD_USER_TEXT_FLAGS)
        #expect(try UserSegmentPermissions.leafFlags(for: data, index: 1) == MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN)
    }
}
