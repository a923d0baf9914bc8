/// Register values from one `g` packet, by name.
public struct RegisterSnapshot: Sendable {
    /// Raw target-order bytes per register, in number order.
    public let registers: [(info: RegisterInfo, bytes: [UInt8])]

    /// A snapshot from explicit values (to edit one and write it back with `G`).
    public init(registers: [(info: RegisterInfo, bytes: [UInt8])]) {
        self.registers = registers
    }

    /// The value of a register of at most 64 bits, by name (case-insensitive).
    public subscript(name: String) -> UInt64? {
        let upper = name.uppercased()
        guard let entry = registers.first(where: { $0.info.name.uppercased() == upper }) else { return nil }
        return Hex.littleEndianValue(entry.bytes)
    }
}

extension GdbClient {
    /// Looks a register up in the target description.
    public func registerInfo(_ name: String) throws(GdbError) -> RegisterInfo {
        guard let info = registerMap.register(named: name) else {
            throw error(.unknownRegister(name), "readRegister")
        }
        return info
    }

    /// Reads one register by name (`p`), e.g. "pc", "x0", "TTBR1_EL1", "SCTLR".
    /// Registers wider than 64 bits return their low 64 bits; use `readRegisterBytes`.
    public func readRegister(_ name: String, thread: ThreadID? = nil) throws(GdbError) -> UInt64 {
        Hex.littleEndianValue(try readRegisterBytes(name, thread: thread))
    }

    /// Reads one register's raw target-order bytes.
    public func readRegisterBytes(_ name: String, thread: ThreadID? = nil) throws(GdbError) -> [UInt8] {
        try locked { () throws(GdbError) -> [UInt8] in
            let info = try registerInfo(name)
            let key = RegisterCacheKey(thread: thread, number: info.number)
            if connection.state == .stopped, let cached = registerCache[key] {
                try connection.checkConnection(operation: "readRegister \(info.name)")
                return cached
            }
            if let thread { try selectThreadLocked(thread, operation: "readRegister") }
            let packet = Packet.register(.read(number: info.number))
            let reply = try checkReply(try connection.exchange(packet, operation: "readRegister \(info.name)"),
                                       operation: "readRegister \(info.name)", packet: packet.description)
            let bytes = try registerValue(reply, of: info, packet: packet.description)
            registerCache[key] = bytes
            return bytes
        }
    }

    /// Reads several registers in one pipelined exchange; values in the order of `names`.
    public func readRegisters(_ names: [String], thread: ThreadID? = nil) throws(GdbError) -> [UInt64] {
        try locked { () throws(GdbError) -> [UInt64] in
            var infos: [RegisterInfo] = []
            for name in names { infos.append(try registerInfo(name)) }
            if connection.state != .stopped { invalidateStopCaches() }  // let the connection report the state
            let missing = infos.filter { registerCache[RegisterCacheKey(thread: thread, number: $0.number)] == nil }
            if !missing.isEmpty {
                if let thread { try selectThreadLocked(thread, operation: "readRegisters") }
                let packets = missing.map { Packet.register(.read(number: $0.number)) }
                let replies = try connection.exchange(packets, operation: "readRegisters")
                for (i, reply) in replies.enumerated() {
                    try checkReply(reply, operation: "readRegister \(missing[i].name)", packet: packets[i].description)
                    let bytes = try registerValue(reply, of: missing[i], packet: packets[i].description)
                    registerCache[RegisterCacheKey(thread: thread, number: missing[i].number)] = bytes
                }
            } else {
                try connection.checkConnection(operation: "readRegisters")
            }
            return infos.map { Hex.littleEndianValue(registerCache[RegisterCacheKey(thread: thread, number: $0.number)] ?? []) }
        }
    }

    /// Writes one register by name (`P`). QEMU ignores writes to system registers.
    public func writeRegister(_ name: String, value: UInt64, thread: ThreadID? = nil) throws(GdbError) {
        try locked { () throws(GdbError) in
            let info = try registerInfo(name)
            if let thread { try selectThreadLocked(thread, operation: "writeRegister") }
            let packet = Packet.register(.write(number: info.number, value: Hex.littleEndianBytes(value, count: info.byteSize)))
            invalidateStopCaches()  // even on failure: the stub may have applied part of it
            let reply = try connection.exchange(packet, operation: "writeRegister \(info.name)")
            try expectOK(reply, operation: "writeRegister \(info.name)", packet: packet.description)
        }
    }

    /// Reads the general registers with one `g` packet.
    public func readGeneralRegisters(thread: ThreadID? = nil) throws(GdbError) -> RegisterSnapshot {
        try locked { () throws(GdbError) -> RegisterSnapshot in
            if let thread { try selectThreadLocked(thread, operation: "readGeneralRegisters") }
            let reply = try checkReply(try connection.exchange(.register(.readGeneral), operation: "readGeneralRegisters"),
                                       operation: "readGeneralRegisters", packet: "g")
            guard let bytes = Hex.decode(reply) else {
                let why = reply.count % 2 == 1 ? "g reply has an odd number of hex digits" : "g reply is not hex"
                throw error(.malformedReply(why), "readGeneralRegisters", packet: "g")
            }
            let layout = registerMap.generalRegisterLayout(byteCount: bytes.count)
            // Registers are whole: leftover bytes mean the stub and the description disagree.
            let covered = layout.last?.1.upperBound ?? 0
            if covered != bytes.count, !registerMap.registers.isEmpty {
                let next = registerMap.registers.first { $0.number == layout.count }.map { " inside \($0.name)" } ?? ""
                throw error(.malformedReply("g reply of \(bytes.count) bytes ends\(next) after \(covered) bytes of whole registers"),
                            "readGeneralRegisters", packet: "g")
            }
            return RegisterSnapshot(registers: layout.map { ($0.0, Array(bytes[$0.1])) })
        }
    }

    /// Writes the general registers with one `G` packet (the snapshot's bytes, in order).
    public func writeGeneralRegisters(_ snapshot: RegisterSnapshot, thread: ThreadID? = nil) throws(GdbError) {
        try locked { () throws(GdbError) in
            if let thread { try selectThreadLocked(thread, operation: "writeGeneralRegisters") }
            let values = snapshot.registers.flatMap(\.bytes)
            invalidateStopCaches()
            let reply = try connection.exchange(.register(.writeGeneral(values: values)), operation: "writeGeneralRegisters")
            try expectOK(reply, operation: "writeGeneralRegisters", packet: "G...")
        }
    }

    /// The bytes of a `p` reply, which must be hex of exactly the register's size.
    private func registerValue(_ reply: [UInt8], of info: RegisterInfo, packet: String) throws(GdbError) -> [UInt8] {
        guard let bytes = Hex.decode(reply) else {
            let why = reply.count % 2 == 1 ? "register value has an odd number of hex digits" : "register value is not hex"
            throw error(.malformedReply(why), "readRegister \(info.name)", packet: packet)
        }
        guard bytes.count == info.byteSize else {
            throw error(.malformedReply("\(bytes.count) bytes for a \(info.bitSize)-bit register"), "readRegister \(info.name)", packet: packet)
        }
        return bytes
    }

    /// Forgets what was learnt while stopped (after a stop, a write, a raw packet).
    func invalidateStopCaches() {
        registerCache.removeAll(keepingCapacity: true)
    }
}

/// Which register of which thread a cached value belongs to (nil: the stub's current thread).
struct RegisterCacheKey: Hashable {
    var thread: ThreadID?
    var number: Int
}
