import Inspect

/// `SymbolTable` backed by Inspect's ELF reader.
public final class ELFSymbolTable: SymbolTable {
    public let elf: ELFFile
    public let source: String
    public let names: [String]

    public init(path: String) throws(CommandError) {
        do throws(ELFError) { elf = try ELFFile(path: path) } catch {
            throw .failed("cannot load symbols from \(path): \(error)")
        }
        source = path
        names = Array(Set(elf.symbols.filter { !$0.name.isEmpty && ($0.kind == .function || $0.kind == .object) }
            .map(\.name))).sorted()
    }

    public func address(of name: String) -> UInt64? { elf.symbol(named: name)?.address }

    public func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)? {
        elf.symbolicate(address).map { ($0.symbol, $0.offset) }
    }
}
