import GdbRemote

/// Why an ELF image could not be read. Each prints as one line.
public enum ELFError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case notELF
    case unsupported(String)
    case truncated(what: String, offset: UInt64)
    case noSuchSymbol(String)
    case addressNotInFile(UInt64)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .notELF: return "not an ELF file (bad magic)"
        case .unsupported(let what): return "unsupported ELF: \(what)"
        case .truncated(let what, let offset): return "truncated ELF: \(what) at file offset \(Hex.format(offset)) runs past the end"
        case .noSuchSymbol(let name): return "no symbol named \(name) in the ELF"
        case .addressNotInFile(let address): return "no file-backed section holds address \(Hex.format(address))"
        }
    }
}
