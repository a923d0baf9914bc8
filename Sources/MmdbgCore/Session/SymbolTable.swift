/// ELF symbols for expressions, `sym`, `addr` and completion.
public protocol SymbolTable: AnyObject {
    func address(of name: String) -> UInt64?
    /// `(name, offset)` of the symbol that contains `address` (a sized symbol its
    /// `[start, start+size)`, a label up to the next symbol within its section),
    /// or nil: no label is ever invented from a distant symbol.
    func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)?
    /// Every symbol name (for completion).
    var names: [String] { get }
    /// Where the symbols came from (file path).
    var source: String { get }
}

extension SymbolTable {
    /// `describe(address)` only when the address is plausibly code or data
    /// (within 1 MiB of the symbol), so plain register values stay unlabelled.
    public func nearby(_ address: UInt64) -> String? {
        guard let (_, offset) = symbolicate(address), offset < 0x10_0000 else { return nil }
        return describe(address)
    }

    /// `name+0x10`, `name`, or nil.
    public func describe(_ address: UInt64) -> String? {
        guard let (name, offset) = symbolicate(address) else { return nil }
        return offset == 0 ? name : "\(name)+\(Hex.format(offset))"
    }
}
