import MmdbgCore

/// A `SymbolTable` double: named, sized functions at made-up addresses.
public final class FakeSymbols: SymbolTable {
    private let functions: [(name: String, start: UInt64, size: UInt64)]

    /// `functions`: name → (start, size in bytes).
    public init(_ functions: [String: (UInt64, UInt64)]) {
        self.functions = functions.map { (name: $0.key, start: $0.value.0, size: $0.value.1) }.sorted { $0.start < $1.start }
    }

    public func address(of name: String) -> UInt64? { functions.first { $0.name == name }?.start }

    public func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)? {
        guard let f = functions.first(where: { address >= $0.start && address < $0.start + $0.size }) else { return nil }
        return (f.name, address - f.start)
    }

    public var names: [String] { functions.map(\.name) }
    public var source: String { "fake symbols" }
}
