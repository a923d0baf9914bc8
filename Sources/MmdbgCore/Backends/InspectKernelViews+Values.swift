import Inspect

/// What `print`'s kernel printer asks the views: whether a physical address is a free or an
/// allocated pool page, a leaf's attribute bits as `vtop` prints them, and `print/pte`.
extension InspectKernelViews {
    public func pagePoolNote(_ physicalAddress: UInt64) -> String? {
        guard let (pool, free) = try? freePageSet() else { return nil }
        guard let page = pool.page(containing: physicalAddress) else { return "outside the page pool" }
        return free.contains(page) ? "free page" : "allocated page"
    }

    /// The pool and its free list, read once per stop.
    func freePageSet() throws(CommandError) -> (PagePoolCounters, Set<UInt64>) {
        if let cachedFreePages { return cachedFreePages }
        try session.requireLayout(for: "check")
        let found = try physically { () throws(CommandError) -> (PagePoolCounters, Set<UInt64>) in
            let checker = ConsistencyChecker(inspector: try inspector())
            let result = try inspect { () throws(KernelInspectionError) in try checker.freePages() }
            guard result.complete, result.pool.pageCount > 0 else {
                throw .target("the free list cannot be followed to its end")
            }
            return (result.pool, result.free)
        }
        cachedFreePages = found
        return found
    }

    public func leafAttributesText(_ raw: UInt64) -> String? {
        guard let context = try? context() else { return nil }
        return MappingAttributes(leaf: LeafAttributes(raw: raw), inherited: .none,
                                 memoryTypes: (0..<8).map { context.mair.attribute($0) },
                                 writeImpliesExecuteNever: context.sctlr.writeImpliesExecuteNever).description
    }

    public func descriptorReadings(_ raw: UInt64) throws(CommandError) -> CommandOutput {
        let context = try context()
        let granule = context.lower.granule
        let bits = context.physicalAddressBits
        let memoryTypes = (0..<8).map { context.mair.attribute($0) }
        var lines = ["\(Hex.padded(raw)): bits[1:0] = 0b\(String(raw >> 1 & 1))\(String(raw & 1)) (\(granule.pageSize / 1024) KiB granule)"]
        var readings: [JSONValue] = []
        func pool(_ address: UInt64) -> String { pagePoolNote(address).map { " <\($0)>" } ?? "" }
        func leaf(_ descriptor: DecodedDescriptor, _ what: String) {
            guard let output = descriptor.outputAddress, let attributes = descriptor.leafAttributes else {
                lines.append("  as \(what): \(descriptor.problem ?? descriptor.kind.rawValue)")
                return
            }
            let mapping = MappingAttributes(leaf: attributes, inherited: .none, memoryTypes: memoryTypes,
                                            writeImpliesExecuteNever: context.sctlr.writeImpliesExecuteNever)
            lines.append("  as \(what): output \(Hex.format(output))\(pool(output)) size \(Hex.format(descriptor.mappedSize ?? 0))  \(mapping)")
            readings.append(.object([("as", .string(what)), ("level", .int(Int64(descriptor.level))), ("output", .hex(output)),
                                     ("size", .hex(descriptor.mappedSize ?? 0)), ("attributes", .string(mapping.description)),
                                     ("pool", pagePoolNote(output).map(JSONValue.string) ?? .null)]))
        }
        if raw & 1 == 0 {
            lines.append("  invalid (bit 0 clear): a walk that reaches it faults")
        } else if raw & 2 != 0 {
            leaf(DecodedDescriptor(raw: raw, level: 3, granule: granule, physicalAddressBits: bits), "a level-3 page")
            let table = DecodedDescriptor(raw: raw, level: 2, granule: granule, physicalAddressBits: bits)
            if let next = table.nextTableAddress {
                var restrictions: [String] = []
                if let t = table.tableAttributes {
                    if t.noEL0Access { restrictions.append("APTable no EL0") }
                    if t.readOnly { restrictions.append("APTable read-only") }
                    if t.uxnTable { restrictions.append("UXNTable") }
                    if t.pxnTable { restrictions.append("PXNTable") }
                    if t.nsTable { restrictions.append("NSTable") }
                }
                lines.append("  as a table (levels 0-2): next table \(Hex.format(next))\(pool(next))"
                             + (restrictions.isEmpty ? "" : "  " + restrictions.joined(separator: " ")))
                readings.append(.object([("as", .string("a table")), ("next", .hex(next)),
                                         ("restrictions", .array(restrictions.map(JSONValue.string))),
                                         ("pool", pagePoolNote(next).map(JSONValue.string) ?? .null)]))
            }
        } else {
            for level in [1, 2] where granule.allowsBlock(atLevel: level) {
                leaf(DecodedDescriptor(raw: raw, level: level, granule: granule, physicalAddressBits: bits), "a level-\(level) block")
            }
        }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))],
                             json: .object([("value", .hex(raw)), ("valid", .bool(raw & 1 != 0)), ("readings", .array(readings))]))
    }

    public func requireWritable(at address: UInt64, count: Int) throws(CommandError) {
        let context = try context()
        guard context.sctlr.mmuEnabled, count > 0 else { return }
        try physically { () throws(CommandError) in
            let walker = TranslationTableWalker(memory: try memorySource(), context: context)
            let last = address &+ UInt64(count - 1)
            var probe = address
            // Every 4 KiB page the range touches (a larger granule's page is just probed more than once).
            while true {
                let translation = try walk { () throws(TranslationError) in try walker.translate(probe) }
                if let attributes = translation.attributes, translation.fault == nil, !attributes.kernel.write {
                    throw .failed("\(Hex.format(probe)) is read-only (\(attributes)): not written")
                }
                let next = (probe | 0xfff) &+ 1
                if next == 0 || next > last { break }
                probe = next
            }
        }
    }
}
