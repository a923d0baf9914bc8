/// Why a kernel structure could not be decoded. Each prints as one line.
public enum KernelInspectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel was built with a different layout than this debugger: decoding would lie.
    case layoutMismatch([String])
    case missingSymbol(String)
    case memory(MemoryError)
    case translation(TranslationError)
    /// The data read is not what the kernel writes there (bad magic, impossible value).
    case corrupt(String)
    /// The kernel has not set its structures up yet (stopped early in boot): nothing to check.
    case notInitialised(String)

    public var description: String {
        switch self {
        case .layoutMismatch(let differences):
            return "kernel layout differs from the debugger's KernelABI, refusing to decode: " + differences.joined(separator: "; ")
        case .missingSymbol(let name): return "kernel symbol \(name) not found in the ELF (is this the mmdbg kernel?)"
        case .memory(let error): return error.description
        case .translation(let error): return error.description
        case .corrupt(let why): return why
        case .notInitialised(let what): return "kernel structures are not initialised yet: \(what)"
        }
    }
}
