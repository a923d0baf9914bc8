extension GdbClient {
    /// Runs a monitor command (`qRcmd`) and returns the text it printed
    /// (on QEMU: HMP commands such as `info registers`, `gva2gpa 0x...`, `xp`).
    public func monitor(_ command: String) throws(GdbError) -> String {
        try locked { () throws(GdbError) -> String in
            let request = Packet.query(.monitor(command: command))
            let packet = request.description
            invalidateStopCaches()  // a monitor command may change the machine
            let (output, reply) = try connection.exchangeCollectingConsole(request, operation: "monitor \(command)")
            try checkReply(reply, operation: "monitor \(command)", packet: packet)
            if reply != Array("OK".utf8) {
                // Some stubs answer with the hex text itself instead of O packets.
                if let text = Hex.decode(reply) { return String(decoding: output + text, as: UTF8.self) }
                throw error(.malformedReply("expected OK"), "monitor \(command)", packet: packet)
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
