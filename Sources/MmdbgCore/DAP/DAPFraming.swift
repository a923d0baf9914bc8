import Foundation

/// The Debug Adapter Protocol's base protocol: each message is a header
/// (`Content-Length: N`, CRLF-terminated lines, an empty line) followed by N
/// bytes of UTF-8 JSON. Pure: bytes in, message bodies out, so the codec is
/// tested without a process.
public struct DAPFrameDecoder: Sendable {
    /// Why the stream cannot be read further (one line). After one of these
    /// nothing later in the stream can be trusted: the adapter ends the session.
    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        case malformedHeader(String)
        case missingContentLength
        case contentTooLong(Int)
        case headerTooLong

        public var description: String {
            switch self {
            case .malformedHeader(let line): return "malformed DAP header line \"\(line.prefix(80))\" (expected `Content-Length: N`)"
            case .missingContentLength: return "DAP header without Content-Length"
            case .contentTooLong(let n): return "Content-Length \(n) is over the \(DAPFrameDecoder.maximumBody) byte limit"
            case .headerTooLong: return "DAP header over \(DAPFrameDecoder.maximumHeader) bytes without an empty line"
            }
        }
    }

    /// The largest body accepted (16 MiB: a writeMemory of 1 MiB in base64 is well under).
    public static let maximumBody = 16 << 20
    /// The longest header accepted before its blank line.
    public static let maximumHeader = 8192

    private var buffer: [UInt8] = []
    private var pendingLength: Int?

    public init() {}

    public mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 { buffer.append(contentsOf: bytes) }

    /// The next complete body, nil when more bytes are needed.
    public mutating func next() throws(Problem) -> [UInt8]? {
        if pendingLength == nil {
            guard let end = headerEnd() else {
                if buffer.count > Self.maximumHeader { throw .headerTooLong }
                return nil
            }
            let header = String(decoding: buffer[..<end], as: UTF8.self)
            buffer.removeFirst(end + 4)
            var length: Int?
            for line in header.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { throw .malformedHeader(line) }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name.caseInsensitiveCompare("Content-Length") == .orderedSame {
                    guard let n = Int(value), n >= 0 else { throw .malformedHeader(line) }
                    guard n <= Self.maximumBody else { throw .contentTooLong(n) }
                    length = n
                }
            }
            guard let length else { throw .missingContentLength }
            pendingLength = length
        }
        guard let length = pendingLength, buffer.count >= length else { return nil }
        let body = Array(buffer[..<length])
        buffer.removeFirst(length)
        pendingLength = nil
        return body
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// One message framed for the wire.
    public static func frame(_ body: [UInt8]) -> [UInt8] {
        Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
    }
}
