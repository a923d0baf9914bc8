/// Builds a flattened device tree blob (devicetree spec v0.4 ch. 5) in the
/// layout QEMU emits: header, empty reservation map, structure block,
/// strings block. Test input for the kernel's reader.
struct FlattenedDeviceTreeBuilder {
    private var structure: [UInt8] = []
    private var strings: [UInt8] = []
    private var stringOffsets: [String: Int] = [:]

    mutating func beginNode(_ name: String) {
        token(1)
        structure += Array(name.utf8) + [0]
        pad()
    }

    mutating func endNode() { token(2) }
    mutating func nop() { token(4) }

    mutating func property(_ name: String, _ value: [UInt8]) {
        token(3)
        word(UInt32(value.count))
        word(UInt32(stringOffset(name)))
        structure += value
        pad()
    }

    mutating func property(_ name: String, string: String) { property(name, Array(string.utf8) + [0]) }
    mutating func property(_ name: String, cells: [UInt32]) {
        property(name, cells.flatMap { Self.bigEndian($0) })
    }

    /// The finished blob; `lastCompatibleVersion` lets tests forge an old one.
    func blob(lastCompatibleVersion: UInt32 = 16) -> [UInt8] {
        let headerSize = 40, reservationMapSize = 16
        let structOffset = headerSize + reservationMapSize
        let structBlock = structure + Self.bigEndian(9) // FDT_END
        let stringsOffset = structOffset + structBlock.count
        let total = stringsOffset + strings.count
        var out: [UInt8] = []
        for field: UInt32 in [0xD00D_FEED, UInt32(total), UInt32(structOffset), UInt32(stringsOffset),
                              UInt32(headerSize), 17, lastCompatibleVersion, 0,
                              UInt32(strings.count), UInt32(structBlock.count)] {
            out += Self.bigEndian(field)
        }
        out += [UInt8](repeating: 0, count: reservationMapSize)
        return out + structBlock + strings
    }

    /// The tree QEMU's -M virt generates, reduced to what the kernel reads
    /// plus a few neighbours with similar names.
    static func virtLike(ramBase: UInt64 = 0x4000_0000, ramSize: UInt64 = 128 << 20,
                         bootargs: String? = nil, psciMethod: String = "hvc") -> [UInt8] {
        var b = FlattenedDeviceTreeBuilder()
        b.beginNode("")
        b.property("#address-cells", cells: [2])
        b.property("#size-cells", cells: [2])
        b.property("compatible", string: "linux,dummy-virt")
        b.beginNode("psci")
        b.property("compatible", string: "arm,psci-0.2")
        b.property("method", string: psciMethod)
        b.endNode()
        b.beginNode("memory@\(String(ramBase, radix: 16))")
        b.property("reg", cells: [UInt32(ramBase >> 32), UInt32(ramBase & 0xFFFF_FFFF),
                                  UInt32(ramSize >> 32), UInt32(ramSize & 0xFFFF_FFFF)])
        b.property("device_type", string: "memory")
        b.endNode()
        b.beginNode("pl011@9000000")
        b.property("reg", cells: [0, 0x0900_0000, 0, 0x1000])
        b.nop()
        b.endNode()
        b.beginNode("chosen")
        if let bootargs { b.property("bootargs", string: bootargs) }
        b.property("stdout-path", string: "/pl011@9000000")
        b.endNode()
        b.endNode()
        return b.blob()
    }

    private mutating func stringOffset(_ name: String) -> Int {
        if let offset = stringOffsets[name] { return offset }
        let offset = strings.count
        strings += Array(name.utf8) + [0]
        stringOffsets[name] = offset
        return offset
    }

    private mutating func token(_ value: UInt32) { word(value) }
    private mutating func word(_ value: UInt32) { structure += Self.bigEndian(value) }
    private mutating func pad() { while structure.count % 4 != 0 { structure.append(0) } }
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
