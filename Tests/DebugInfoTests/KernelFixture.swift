import DebugInfo
import Foundation
import Inspect
import QEMULauncher

/// The bundled kernel's ELF (built by scripts/build-kernel.sh), opened once
/// for the fast tests: DWARF through DebugInfo, symbols through Inspect.
enum KernelFixture {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func path() throws -> String {
        let path = KernelImage.defaultPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "kernel image \(path) is missing: run `scripts/build-kernel.sh` (scripts/test.sh does)")
        }
        return path
    }

    static func open() throws -> (info: DebugInfoFile, elf: ELFFile) {
        let path = try path()
        return (try DebugInfoFile(path: path), try ELFFile(path: path))
    }

    /// Function symbols with a size, in address order.
    static func functions(_ elf: ELFFile) -> [ELFSymbol] {
        elf.symbols.filter { $0.kind == .function && $0.size > 0 }.sorted { $0.address < $1.address }
    }
}

/// Memory for unwinder tests: little-endian words at addresses; anything else is unreadable.
struct WordMemory {
    var words: [UInt64: UInt64]
    struct Unreadable: Error, CustomStringConvertible {
        let address: UInt64
        var description: String { "unmapped 0x\(String(address, radix: 16))" }
    }
    func read(_ address: UInt64, _ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for offset in stride(from: 0, to: count, by: 8) {
            guard let word = words[address + UInt64(offset)] else { throw Unreadable(address: address + UInt64(offset)) }
            bytes += (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
        }
        return Array(bytes.prefix(count))
    }
}
