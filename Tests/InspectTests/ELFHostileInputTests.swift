import Foundation
import Testing
import Inspect
import TestSupport

/// The ELF reader takes every offset and size from the file: a hostile or
/// corrupted image must produce an `ELFError` (or a parse), never a trap.
/// A trap kills the test process, so each case below fails loudly if the
/// reader ever does arithmetic on a file value unchecked.
@Suite struct ELFHostileInputTests {
    /// One field of a header: where it sits and how wide it is.
    struct Field { var offset: Int; var width: Int; var name: String }

    static let elfHeaderFields = [
        Field(offset: 16, width: 2, name: "e_type"), Field(offset: 18, width: 2, name: "e_machine"),
        Field(offset: 20, width: 4, name: "e_version"), Field(offset: 24, width: 8, name: "e_entry"),
        Field(offset: 32, width: 8, name: "e_phoff"), Field(offset: 40, width: 8, name: "e_shoff"),
        Field(offset: 48, width: 4, name: "e_flags"), Field(offset: 52, width: 2, name: "e_ehsize"),
        Field(offset: 54, width: 2, name: "e_phentsize"), Field(offset: 56, width: 2, name: "e_phnum"),
        Field(offset: 58, width: 2, name: "e_shentsize"), Field(offset: 60, width: 2, name: "e_shnum"),
        Field(offset: 62, width: 2, name: "e_shstrndx"),
    ]
    static let sectionHeaderFields = [
        Field(offset: 0, width: 4, name: "sh_name"), Field(offset: 4, width: 4, name: "sh_type"),
        Field(offset: 8, width: 8, name: "sh_flags"), Field(offset: 16, width: 8, name: "sh_addr"),
        Field(offset: 24, width: 8, name: "sh_offset"), Field(offset: 32, width: 8, name: "sh_size"),
        Field(offset: 40, width: 4, name: "sh_link"), Field(offset: 44, width: 4, name: "sh_info"),
        Field(offset: 48, width: 8, name: "sh_addralign"), Field(offset: 56, width: 8, name: "sh_entsize"),
    ]
    static let programHeaderFields = [
        Field(offset: 0, width: 4, name: "p_type"), Field(offset: 4, width: 4, name: "p_flags"),
        Field(offset: 8, width: 8, name: "p_offset"), Field(offset: 16, width: 8, name: "p_vaddr"),
        Field(offset: 24, width: 8, name: "p_paddr"), Field(offset: 32, width: 8, name: "p_filesz"),
        Field(offset: 40, width: 8, name: "p_memsz"), Field(offset: 48, width: 8, name: "p_align"),
    ]

    /// Values that break naive arithmetic: zero, all ones, just below the top
    /// (the reviewer's 0xFFFF_FFFF_FFFF_FFF0), the sign bit, around the file
    /// size, and the section types that make the reader follow a section (NOTE, SYMTAB).
    static func hostileValues(fileSize: Int) -> [UInt64] {
        [0, 1, 2, 7, 3, 24, UInt64.max, 0xFFFF_FFFF_FFFF_FFF0, 0xFFFF_FFFF_FFFF_FFF8, 1 << 63, 0xFFFF_FFFF, 0xFFFF, 0xFFF0,
         UInt64(fileSize), UInt64(fileSize - 1), UInt64(fileSize - 12), UInt64(fileSize / 2)]
    }

    static func write(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func field(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> Int {
        (0..<width).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    /// Parses `image`; when it parses, also exercises the lookups that use
    /// file values (symbolicate, contents). Returns whether it parsed.
    @discardableResult
    static func parse(_ image: [UInt8]) -> Bool {
        do {
            let elf = try ELFFile(bytes: image)
            for probe in [elf.entry, 0, UInt64.max, elf.entry &+ 0x1000] {
                _ = elf.symbolicate(probe)
                _ = try? elf.contents(at: probe, length: 64)
                _ = try? elf.contents(at: probe, length: Int.max)
            }
            for section in elf.sections { _ = try? elf.contents(at: section.address, length: Int(truncatingIfNeeded: section.size)) }
            return true
        } catch {
            #expect(!error.description.contains("\n"), "error is not one line: \(error)")
            return false
        }
    }

    @Test func theReviewersSymtabOffsetIsATruncationError() throws {
        var image = try Self.kernelBytes()
        let sectionHeaders = Self.field(image, 40, 8), entrySize = Self.field(image, 58, 2), count = Self.field(image, 60, 2)
        let symtab = try #require((0..<count).first { Self.field(image, sectionHeaders + $0 * entrySize + 4, 4) == 2 })
        Self.write(0xFFFF_FFFF_FFFF_FFF0, width: 8, at: sectionHeaders + symtab * entrySize + 24, in: &image)
        #expect {
            try ELFFile(bytes: image)
        } throws: { error in
            guard case .truncated = error as? ELFError else { return false }
            return true
        }
    }

    /// Every field of every header, set to every hostile value: 6 000 parses of the real
    /// kernel, split in four interleaved parts so the parts run in parallel.
    @Test(arguments: 0..<4)
    func everyHeaderFieldSetToEveryHostileValueThrowsOrParses(part: Int) throws {
        let original = try Self.kernelBytes()
        #expect(Self.parse(original))
        let values = Self.hostileValues(fileSize: original.count)
        var locations: [(offset: Int, width: Int)] = Self.elfHeaderFields.map { ($0.offset, $0.width) }
        let sectionHeaders = Self.field(original, 40, 8), sectionEntry = Self.field(original, 58, 2)
        for section in 0..<Self.field(original, 60, 2) {
            locations += Self.sectionHeaderFields.map { (sectionHeaders + section * sectionEntry + $0.offset, $0.width) }
        }
        let programHeaders = Self.field(original, 32, 8), programEntry = Self.field(original, 54, 2)
        for segment in 0..<Self.field(original, 56, 2) {
            locations += Self.programHeaderFields.map { (programHeaders + segment * programEntry + $0.offset, $0.width) }
        }
        var parsed = 0, rejected = 0
        var image = original
        for (offset, width) in locations.enumerated().filter({ $0.offset % 4 == part }).map(\.element) {
            for value in values {
                Self.write(value, width: width, at: offset, in: &image)
                if Self.parse(image) { parsed += 1 } else { rejected += 1 }
            }
            image.replaceSubrange(offset..<offset + width, with: original[offset..<offset + width])
        }
        // Both outcomes happen: the mutations are real, and the reader is not simply rejecting everything.
        #expect(parsed > 0 && rejected > 0)
        #expect(locations.count >= 13 + 24 * 10)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomBytesInTheHeadersThrowOrParse(seed: UInt64) throws {
        let original = try Self.kernelBytes()
        var generator = SeededGenerator(seed: seed)
        let sectionHeaders = Self.field(original, 40, 8)
        let headerRegions = [16..<64, 64..<(64 + 7 * 56), sectionHeaders..<original.count]
        for _ in 0..<150 {
            var image = original
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let region = headerRegions.randomElement(using: &generator)!
                image[Int.random(in: region, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            Self.parse(image)
        }
        // Wholly random images behind a valid ELF64 identification.
        for _ in 0..<150 {
            var image = (0..<Int.random(in: 64...4096, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            image.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
            Self.parse(image)
        }
    }

    static func kernelBytes() throws -> [UInt8] {
        let path = try Tools.kernelImage()
        guard let data = FileManager.default.contents(atPath: path) else { throw ELFError.unreadableFile(path: path, reason: "unreadable") }
        return [UInt8](data)
    }
}
