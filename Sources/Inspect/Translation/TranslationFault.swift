/// Why a VA does not translate (a result, not an error: the walk worked).
public struct TranslationFault: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The VA is in neither half (non-canonical for the configured sizes).
        case outsideAddressSpace
        /// EPD0/EPD1 disable walks of that half.
        case walkDisabled
        /// An invalid descriptor.
        case translation
        /// A reserved/malformed descriptor or an out-of-range output address.
        case malformedDescriptor
        /// A table on the way could not be read (e.g. it points into device memory).
        case unreadableTable
        /// The leaf has AF clear and the hardware does not manage it (TCR.HA = 0).
        case accessFlag
    }

    public var kind: Kind
    /// The level where the walk stopped, when it got that far.
    public var level: Int?
    public var detail: String

    public var description: String {
        if let level { return "\(kind.rawValue) fault at level \(level): \(detail)" }
        return "\(kind.rawValue) fault: \(detail)"
    }
}

/// Why a translation request could not be answered at all. Each prints as one line.
public enum TranslationError: Error, Sendable, Equatable, CustomStringConvertible {
    case memory(MemoryError)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .memory(let error): return error.description
        case .invalidArgument(let why): return why
        }
    }
}
