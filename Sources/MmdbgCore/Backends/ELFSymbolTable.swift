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
        // Completion offers what a user can type: `$x`/`$d` mapping symbols and
        // `$e…` mangled names would read as registers.
        names = Array(Set(elf.symbols.filter { symbol in
            !symbol.name.isEmpty && !symbol.name.hasPrefix("$")
                && (symbol.kind == .function || symbol.kind == .object || symbol.kind == .none)
        }.map(\.name))).sorted()
    }

    public func address(of name: String) -> UInt64? { elf.symbol(named: name)?.address }

    public func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)? {
        elf.symbolicate(address).map { ($0.symbol, $0.offset) }
    }
}
