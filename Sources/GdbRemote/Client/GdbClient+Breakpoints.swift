extension GdbClient {
    /// Inserts a breakpoint or watchpoint (`Z<kind>,addr,length`). `length` is the
    /// instruction size for breakpoints (4 on AArch64) or the bytes watched.
    public func setBreakpoint(_ kind: BreakpointKind = .software, at address: UInt64, length: Int = 4) throws(GdbError) {
        try locked { () throws(GdbError) in
            guard length > 0 else { throw error(.invalidArgument("length must be positive"), "setBreakpoint", address: address) }
            let packet = "Z\(kind.rawValue),\(String(address, radix: 16)),\(String(length, radix: 16))"
            let reply = try connection.exchange(GdbRequest(packet, idempotent: false), operation: "set \(kind)")
            try expectOK(reply, operation: "set \(kind)", packet: packet, address: address)
            insertedBreakpoints.append(Breakpoint(kind: kind, address: address, length: length))
        }
    }

    /// Removes a breakpoint or watchpoint (`z<kind>,addr,length`).
    public func removeBreakpoint(_ kind: BreakpointKind = .software, at address: UInt64, length: Int = 4) throws(GdbError) {
        try locked { () throws(GdbError) in
            let packet = "z\(kind.rawValue),\(String(address, radix: 16)),\(String(length, radix: 16))"
            let reply = try connection.exchange(GdbRequest(packet, idempotent: false), operation: "remove \(kind)")
            try expectOK(reply, operation: "remove \(kind)", packet: packet, address: address)
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
