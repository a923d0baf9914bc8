/// Why debug information could not answer. Every case prints as one line.
public enum DebugInfoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or is not an ELF file.
    case cannotOpen(path: String, reason: String)
    /// The ELF has no DWARF (stripped, or built without -g).
    case noDebugInfo(path: String)
    /// libdw rejected the DWARF (corrupt, truncated, a form it cannot read).
    case corrupt(String)
    /// No compilation unit covers the address.
    case noUnit(UInt64)
    /// A unit covers the address but its line table has no row for it.
    case noLine(UInt64)
    /// No call-frame information and no usable frame pointer.
    case cannotUnwind(String)
    /// A file:line, function or source file that the DWARF does not know.
    case notFound(String)
    /// Capstone could not be opened.
    case disassembler(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .noDebugInfo(let path): return "\(path) has no DWARF debug information"
        case .corrupt(let why): return "unreadable DWARF: \(why)"
        case .noUnit(let address): return "no compilation unit covers 0x\(String(address, radix: 16))"
        case .noLine(let address): return "no line information for 0x\(String(address, radix: 16))"
        case .cannotUnwind(let why): return "cannot unwind: \(why)"
        case .notFound(let what): return what
        case .disassembler(let why): return "disassembler: \(why)"
        }
    }
}
