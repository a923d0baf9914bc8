extension GdbClient {
    /// Inserts a breakpoint or watchpoint (`Z<kind>,addr,length`). `length` is the
    /// instruction size for breakpoints (4 on AArch64) or the bytes watched.
    public func setBreakpoint(_ kind: BreakpointKind = .software, at address: UInt64, length: Int = 4) throws(GdbError) {
        try locked { () throws(GdbError) in
            guard length > 0 else { throw error(.invalidArgument("length must be positive"), "setBreakpoint", address: address) }
            let packet = Packet.breakpoint(.insert(kind, address: address, length: length))
            let reply = try connection.exchange(packet, operation: "set \(kind)")
            try expectOK(reply, operation: "set \(kind)", packet: packet.description, address: address)
            insertedBreakpoints.append(Breakpoint(kind: kind, address: address, length: length))
        }
    }

    /// Removes a breakpoint or watchpoint (`z<kind>,addr,length`).
    public func removeBreakpoint(_ kind: BreakpointKind = .software, at address: UInt64, length: Int = 4) throws(GdbError) {
        try locked { () throws(GdbError) in
            let packet = Packet.breakpoint(.remove(kind, address: address, length: length))
            let reply = try connection.exchange(packet, operation: "remove \(kind)")
            try expectOK(reply, operation: "remove \(kind)", packet: packet.description, address: address)
            let target = Breakpoint(kind: kind, address: address, length: length)
            if let i = insertedBreakpoints.firstIndex(of: target) { insertedBreakpoints.remove(at: i) }
        }
    }

    /// Removes every breakpoint and watchpoint this client inserted.
    public func removeAllBreakpoints() throws(GdbError) {
        try locked { () throws(GdbError) in
            for b in insertedBreakpoints.reversed() { try removeBreakpoint(b.kind, at: b.address, length: b.length) }
        }
    }
}
