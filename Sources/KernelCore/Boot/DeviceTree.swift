// A reader for the flattened device tree (DTB, devicetree spec v0.4 ch. 5)
// QEMU passes in x0: just enough to find RAM, the command line and the
// PSCI conduit. Reads in place, allocates nothing, and checks every offset
// against the blob's declared sizes, so a corrupt blob yields nil.

/// How PSCI calls reach the firmware (the /psci node's `method`).
public enum PsciConduit: Equatable {
    case hvc, smc, unknown
}

/// What the kernel takes from the device tree.
public struct BootHardwareInfo {
    /// First RAM range of the memory node.
    public var ramBase: UInt64 = 0
    public var ramSize: UInt64 = 0
    /// /chosen/bootargs.
    public var commandLine: KernelCommandLine = .empty
    public var psci: PsciConduit = .unknown
}

/// A validated flattened device tree blob in memory.
public struct FlattenedDeviceTree {
    static let magic: UInt32 = 0xD00D_FEED
    static let tokenBeginNode: UInt32 = 1, tokenEndNode: UInt32 = 2, tokenProperty: UInt32 = 3
    static let tokenNop: UInt32 = 4, tokenEnd: UInt32 = 9

    /// The whole blob (`totalsize` bytes).
    public let blob: UnsafeRawBufferPointer
    let structureBlock: UnsafeRawBufferPointer
    let stringsBlock: UnsafeRawBufferPointer

    /// Validates the header of the blob at `address`; nil if it is not a
    /// version-16+ DTB whose blocks lie inside it.
    public init?(at address: UnsafeRawPointer) {
        let header = UnsafeRawBufferPointer(start: address, count: 40)
        func word(_ index: Int) -> UInt32 { FlattenedDeviceTree.bigEndian32(header, index * 4) }
        guard word(0) == Self.magic, word(6) >= 16 else { return nil } // magic, last_comp_version
        let totalSize = Int(word(1))
        let structOffset = Int(word(2)), stringsOffset = Int(word(3))
        let stringsSize = Int(word(8)), structSize = Int(word(9))
        guard totalSize >= 40,
              structOffset >= 40, structOffset + structSize <= totalSize,
              stringsOffset >= 40, stringsOffset + stringsSize <= totalSize else { return nil }
        blob = UnsafeRawBufferPointer(start: address, count: totalSize)
        structureBlock = UnsafeRawBufferPointer(rebasing: blob[structOffset..<(structOffset + structSize)])
        stringsBlock = UnsafeRawBufferPointer(rebasing: blob[stringsOffset..<(stringsOffset + stringsSize)])
    }

    /// Visits every property in document order with the depth of its node
    /// (root = 0), the node's name (unit address included) and the
    /// property's name and value. Stops at the end token or at the first
    /// malformed token.
    public func forEachProperty(_ body: (_ depth: Int, _ node: UnsafeRawBufferPointer,
                                         _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        var offset = 0
        var depth = -1
        // Names of the open nodes, up to the depth anything here cares about.
        var nodeNames: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) =
            (.init(start: nil, count: 0), .init(start: nil, count: 0), .init(start: nil, count: 0))
        while offset + 4 <= structureBlock.count {
            let token = Self.bigEndian32(structureBlock, offset)
            offset += 4
            switch token {
            case Self.tokenBeginNode:
                let name = ByteString.untilNul(UnsafeRawBufferPointer(rebasing: structureBlock[offset...]))
                offset = Self.align4(offset + name.count + 1)
                depth += 1
                if depth == 0 { nodeNames.0 = name } else if depth == 1 { nodeNames.1 = name } else if depth == 2 { nodeNames.2 = name }
            case Self.tokenEndNode:
                depth -= 1
            case Self.tokenProperty:
                guard offset + 8 <= structureBlock.count else { return }
                let length = Int(Self.bigEndian32(structureBlock, offset))
                let nameOffset = Int(Self.bigEndian32(structureBlock, offset + 4))
                offset += 8
                guard offset + length <= structureBlock.count, nameOffset < stringsBlock.count, depth >= 0 else { return }
                let value = UnsafeRawBufferPointer(rebasing: structureBlock[offset..<(offset + length)])
                let name = ByteString.untilNul(UnsafeRawBufferPointer(rebasing: stringsBlock[nameOffset...]))
                let node = depth == 0 ? nodeNames.0 : depth == 1 ? nodeNames.1 : nodeNames.2
                body(depth, node, name, value)
                offset = Self.align4(offset + length)
            case Self.tokenNop:
                continue
            default: // FDT_END or garbage
                return
            }
        }
    }

    /// RAM (first /memory range), /chosen/bootargs and the /psci method.
    /// Cell sizes come from the root's #address-cells / #size-cells.
    public func bootHardwareInfo() -> BootHardwareInfo {
        var info = BootHardwareInfo()
        var addressCells = 2, sizeCells = 1 // spec defaults
        forEachProperty { depth, node, name, value in
            if depth == 0 {
                if ByteString.equals(name, "#address-cells"), value.count == 4 { addressCells = Int(Self.bigEndian32(value, 0)) }
                if ByteString.equals(name, "#size-cells"), value.count == 4 { sizeCells = Int(Self.bigEndian32(value, 0)) }
                return
            }
            guard depth == 1 else { return }
            if ByteString.hasPrefix(node, "memory"), ByteString.equals(name, "reg"), info.ramSize == 0,
               value.count >= (addressCells + sizeCells) * 4 {
                info.ramBase = Self.cells(value, at: 0, count: addressCells)
                info.ramSize = Self.cells(value, at: addressCells * 4, count: sizeCells)
            } else if ByteString.equals(node, "chosen"), ByteString.equals(name, "bootargs") {
                info.commandLine = KernelCommandLine(value)
            } else if ByteString.equals(node, "psci"), ByteString.equals(name, "method") {
                let method = ByteString.untilNul(value)
                info.psci = ByteString.equals(method, "hvc") ? .hvc : ByteString.equals(method, "smc") ? .smc : .unknown
            }
        }
        return info
    }

    /// Calls `body` with the `reg` (MPIDR affinity) of every /cpus/cpu@N
    /// node, in the tree's order (one or two cells, as /cpus says).
    public func forEachCPU(_ body: (UInt64) -> Void) {
        var inCPUs = false
        forEachProperty { depth, node, name, value in
            if depth == 1 { inCPUs = ByteString.equals(node, "cpus") }
            guard depth == 2, inCPUs, ByteString.hasPrefix(node, "cpu@"), ByteString.equals(name, "reg") else { return }
            if value.count == 4 { body(UInt64(Self.bigEndian32(value, 0))) }
            else if value.count == 8 { body(Self.cells(value, at: 0, count: 2)) }
        }
    }

    static func bigEndian32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    /// A 1- or 2-cell big-endian number.
    static func cells(_ bytes: UnsafeRawBufferPointer, at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<count { value = value << 32 | UInt64(bigEndian32(bytes, offset + 4 * i)) }
        return value
    }

    static func align4(_ offset: Int) -> Int { (offset + 3) & ~3 }
}
