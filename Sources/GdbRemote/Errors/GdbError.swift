/// Every failure the GDB remote client reports. One type for the whole public
/// API so callers write `throws(GdbError)` once; `kind` says what went wrong,
/// the other fields say where, and `description` prints all of it on one line.
public struct GdbError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// Could not open the connection (address and reason in the text).
        case connectFailed(String)
        /// No answer before the deadline (seconds).
        case timedOut(seconds: Double)
        /// The stub closed the connection or the socket failed.
        case disconnected(String)
        /// The stub answered `Exx`.
        case stubError(code: UInt8)
        /// The stub answered the empty packet: it does not support the request.
        case unsupported
        /// The reply could not be understood.
        case malformedReply(String)
        /// The stub kept answering `-` (or kept corrupting replies).
        case retryLimitExceeded(attempts: Int)
        /// A packet would exceed the stub's PacketSize.
        case packetTooLarge(bytes: Int, limit: Int)
        /// The operation is not allowed in the connection's current state.
        case invalidState(ConnectionState)
        /// No register of that name in the target description.
        case unknownRegister(String)
        /// The caller passed something that cannot be sent.
        case invalidArgument(String)
        /// A guard refused the operation (e.g. a bulk read of device memory).
        case refused(String)
    }

    public var kind: Kind
    /// The client operation, e.g. "readMemory".
    public var operation: String
    /// The packet involved (truncated), if any.
    public var packet: String?
    /// The target address involved, if any.
    public var address: UInt64?
    /// The last packets exchanged before the failure, oldest first ("-> m1000,4", "<- E14"):
    /// every error the connection or the client creates carries it (empty only for
    /// `connectFailed`, before any packet).
    public var recentPackets: [String]

    /// An error of `kind` in `operation`; `packet` is clipped to 80 characters.
    public init(_ kind: Kind, operation: String, packet: String? = nil, address: UInt64? = nil,
                recentPackets: [String] = []) {
        self.kind = kind
        self.operation = operation
        self.packet = packet.map { GdbError.clip($0) }
        self.address = address
        self.recentPackets = recentPackets
    }

    /// Equality ignores the packet ring (it depends on timing).
    public static func == (a: GdbError, b: GdbError) -> Bool {
        a.kind == b.kind && a.operation == b.operation && a.packet == b.packet && a.address == b.address
    }

    /// One line, whatever the stub sent: stub text quoted in an error (a reply, a
    /// register name from target.xml, monitor output) has its control characters
    /// escaped and is clipped.
    public var description: String {
        var text = "\(operation)"
        if let address { text += " at 0x\(String(address, radix: 16))" }
        text += ": \(kindText)"
        if let packet { text += " (packet \(packet))" }
        return GdbError.singleLine(text)
    }

    /// The description followed by the recent-packet ring, one packet per line: what
    /// mmdbg's `show last-error` prints for the last failed command.
    public var detailedDescription: String {
        ([description, "recent packets:"] + recentPackets.map { "  " + $0 }).joined(separator: "\n")
    }

    private var kindText: String {
        switch kind {
        case .connectFailed(let why): return "connection failed: \(why)"
        case .timedOut(let seconds): return "no reply within \(seconds)s"
        case .disconnected(let why): return "stub disconnected: \(why)"
        case .stubError(let code): return "stub answered error E\(Hex.encode([code]))\(GdbError.meaning(of: code))"
        case .unsupported: return "not supported by the stub (empty reply)"
        case .malformedReply(let why): return "malformed reply: \(GdbError.clip(why, to: 160))"
        case .retryLimitExceeded(let attempts): return "gave up after \(attempts) attempts (stub keeps rejecting)"
        case .packetTooLarge(let bytes, let limit): return "packet of \(bytes) bytes exceeds the stub's limit of \(limit)"
        case .invalidState(let state): return "not allowed while the target is \(state)"
        case .unknownRegister(let name): return "no register named \(name) in the target description"
        case .invalidArgument(let why): return "invalid argument: \(why)"
        case .refused(let why): return "refused: \(why)"
        }
    }

    private static func meaning(of code: UInt8) -> String {
        switch code {
        // QEMU writes errno in decimal digits (E14 = EFAULT, E22 = EINVAL); the spec says hex.
        case 0x0E, 0x14: return " (bad address: not mapped)"
        case 0x16, 0x22: return " (invalid argument)"
        case 0x01: return " (operation not permitted)"
        default: return ""
        }
    }

    static func clip(_ text: String, to limit: Int = 80) -> String {
        text.count > limit ? String(text.prefix(limit - 3)) + "..." : text
    }

    /// `text` with line breaks and other control characters written as escapes.
    static func singleLine(_ text: String) -> String {
        func isControl(_ s: Unicode.Scalar) -> Bool {
            s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
        }
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else { out.append(scalar); continue }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default: escape = "\\u{\(String(scalar.value, radix: 16))}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }
}
