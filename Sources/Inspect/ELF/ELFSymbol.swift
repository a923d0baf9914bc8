import GdbRemote

/// One symbol-table entry.
public struct ELFSymbol: Codable, Sendable, Hashable {
    /// What a symbol names (`STT_*`).
    public enum Kind: String, Codable, Sendable {
        case none, object, function, section, file, common, tls, other

        init(elfType: UInt8) {
            switch elfType {
            case 0: self = .none
            case 1: self = .object
            case 2: self = .function
            case 3: self = .section
            case 4: self = .file
            case 5: self = .common
            case 6: self = .tls
            default: self = .other
            }
        }
    }

    /// Symbol binding (`STB_*`).
    public enum Binding: String, Codable, Sendable {
        case local, global, weak, other

        init(elfBinding: UInt8) {
            switch elfBinding {
            case 0: self = .local
            case 1: self = .global
            case 2: self = .weak
            default: self = .other
            }
        }
    }

    public var name: String
    public var address: UInt64
    public var size: UInt64
    public var kind: Kind
    public var binding: Binding
    /// Index of the section the symbol is defined in (0 = undefined).
    public var sectionIndex: UInt16
}

/// An address expressed as `symbol+offset`.
public struct SymbolicAddress: Codable, Sendable, Hashable, CustomStringConvertible {
    public var symbol: String
    public var offset: UInt64

    /// `symbol+offset`.
    public init(symbol: String, offset: UInt64) {
        self.symbol = symbol
        self.offset = offset
    }

    /// `name` or `name+0x1c`.
    public var description: String { offset == 0 ? symbol : "\(symbol)+\(Hex.format(offset))" }
}
