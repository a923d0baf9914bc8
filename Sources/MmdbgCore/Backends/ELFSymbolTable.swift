import Inspect

/// `SymbolTable` backed by Inspect's ELF reader.
public final class ELFSymbolTable: SymbolTable {
    public let elf: ELFFile
    public let source: String
    public let names: [String]

    /// Readable name → address for Swift functions whose short name is unique.
    private let swiftNames: [String: UInt64]
    /// Mangled name → readable name.
    private let readable: [String: String]

    public convenience init(path: String) throws(CommandError) {
        let elf: ELFFile
        do throws(ELFError) { elf = try ELFFile(path: path) } catch {
            throw .failed("cannot load symbols from \(path): \(error)")
        }
        self.init(elf: elf, source: path)
    }

    /// The symbols of an ELF image in memory (a program the kernel embeds); `source` names it.
    public convenience init(bytes: [UInt8], source: String) throws(CommandError) {
        let elf: ELFFile
        do throws(ELFError) { elf = try ELFFile(bytes: bytes) } catch {
            throw .failed("cannot load symbols from \(source): \(error)")
        }
        self.init(elf: elf, source: source)
    }

    public init(elf: ELFFile, source: String) {
        self.elf = elf
        self.source = source
        // Swift functions are shown and typed as `Module.function`; a short
        // name two symbols share (overloads) is shown but not accepted.
        var readable: [String: String] = [:]
        var byName: [String: [UInt64]] = [:]
        for symbol in elf.symbols where symbol.kind == .function {
            // Closures read as `closure #1 in Module.function` but cannot be typed.
            if let closure = SwiftSymbolNames.closureName(symbol.name) { readable[symbol.name] = closure }
            guard let short = SwiftSymbolNames.shortName(symbol.name) else { continue }
            readable[symbol.name] = short
            byName[short, default: []].append(symbol.address)
        }
        self.readable = readable
        swiftNames = byName.compactMapValues { Set($0).count == 1 ? $0[0] : nil }
        // Completion offers what a user can type: `$x`/`$d` mapping symbols and
        // `$e…` mangled names would read as registers.
        names = Array(Set(elf.symbols.filter { symbol in
            !symbol.name.isEmpty && !symbol.name.hasPrefix("$")
                && (symbol.kind == .function || symbol.kind == .object || symbol.kind == .none)
        }.map(\.name)).union(swiftNames.keys)).sorted()
    }

    public func address(of name: String) -> UInt64? { elf.symbol(named: name)?.address ?? swiftNames[name] }

    public func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)? {
        elf.symbolicate(address).map { (readable[$0.symbol] ?? $0.symbol, $0.offset) }
    }
}
