@testable import GdbRemote

/// The escaped body of `packet` as text.
func wire(_ packet: Packet) -> String { String(decoding: packet.encode(), as: UTF8.self) }

/// The framed packet as text.
func framed(_ packet: Packet) -> String { String(decoding: packet.framed(), as: UTF8.self) }
