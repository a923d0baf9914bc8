import Inspect

/// The `--json` shapes of Inspect's values (documented in README "JSON
/// output"). Addresses are "0x…" strings: JSON numbers lose bits above 2^53.
enum KernelJSON {
    static func rights(_ r: AccessRights) -> JSONValue { .string(r.description) }

    static func attributes(_ a: MappingAttributes) -> JSONValue {
        .object([("kernel", rights(a.kernel)), ("user", rights(a.user)), ("memoryType", .string(String(describing: a.memoryType))),
                 ("shareability", .string(String(describing: a.shareability))), ("accessFlag", .bool(a.accessFlag)),
                 ("global", .bool(a.global)), ("contiguous", .bool(a.contiguous)), ("text", .string(a.description))])
    }

    static func taskSummary(_ t: TaskInfo) -> JSONValue {
        .object([("pid", .int(t.pid)), ("ppid", .int(t.parentPID)), ("state", .string(t.state.rawValue)),
                 ("name", .string(t.name)), ("current", .bool(t.isCurrent)), ("pgd", .hex(t.mm.pgd)),
                 ("kernelPages", .int(Int64(t.mm.kernelPages.count))), ("userPages", .int(Int64(t.mm.userPages.count))),
                 ("brk", .hex(t.mm.brk))])
    }

    static func task(_ t: TaskInfo) -> JSONValue {
        guard case .object(var fields) = taskSummary(t) else { return .null }
        fields += [("slot", .int(Int64(t.slot))), ("address", .hex(t.address)), ("exitCode", .int(t.exitCode)),
                   ("kernelStack", .hex(t.kernelStack)),
                   ("context", .object([("pc", .hex(t.context.pc)), ("sp", .hex(t.context.sp)), ("fp", .hex(t.context.fp))])),
                   ("kernelPageList", .array(t.mm.kernelPages.map(JSONValue.hex))),
                   ("userPageList", .array(t.mm.userPages.map { page in
                       .object([("slot", .int(Int64(page.slot))), ("va", .hex(page.virtualAddress)),
                                ("pa", .hex(page.physicalAddress)), ("flags", .hex(page.flags)),
                                ("attributes", attributes(page.attributes))])
                   }))]
        return .object(fields)
    }

    static func pool(_ p: PagePoolCounters) -> JSONValue {
        .object([("base", .hex(p.basePhysicalAddress)), ("pages", .uint(p.pageCount)), ("free", .uint(p.freePages)),
                 ("allocations", .uint(p.allocations)), ("frees", .uint(p.frees)), ("failures", .uint(p.failures))])
    }

    static func translation(_ t: Translation, pid: Int?) -> JSONValue {
        .object([
            ("va", .hex(t.virtualAddress)), ("pid", pid.map { .int(Int64($0)) } ?? .null),
            ("mapped", .bool(t.isMapped)), ("pa", t.physicalAddress.map(JSONValue.hex) ?? .null),
            ("half", t.half.map { .string($0.rawValue) } ?? .null), ("mmuEnabled", .bool(t.mmuEnabled)),
            ("leafLevel", t.leafLevel.map { .int(Int64($0)) } ?? .null),
            ("leafSize", t.leafSize.map(JSONValue.hex) ?? .null),
            ("attributes", t.attributes.map(attributes) ?? .null),
            ("fault", t.fault.map { .string($0.description) } ?? .null),
            ("steps", .array(t.steps.map { step in
                .object([("level", .int(Int64(step.level))), ("table", .hex(step.tableAddress)),
                         ("index", .int(Int64(step.index))), ("descriptorAddress", .hex(step.descriptorAddress)),
                         ("descriptor", .hex(step.descriptor.raw)), ("kind", .string(step.descriptor.kind.rawValue))])
            })),
        ])
    }

    static func dump(_ dump: AddressSpaceDump, runs: [MappingRun], space: AddressSpaceSelector) -> JSONValue {
        let s = dump.statistics
        let spaceName: String
        switch space {
        case .current: spaceName = "cpu"
        case .kernel: spaceName = "kernel"
        case .task(let pid): spaceName = "pid \(pid)"
        }
        return .object([
            ("space", .string(spaceName)),
            ("runs", .array(runs.map { run in
                .object([("half", .string(run.half.rawValue)), ("vaStart", .hex(run.virtualStart)), ("vaLast", .hex(run.virtualLast)),
                         ("paStart", .hex(run.physicalStart)), ("size", .hex(run.size)), ("leafLevel", .int(Int64(run.leafLevel))),
                         ("leafCount", .int(Int64(run.leafCount))), ("attributes", attributes(run.attributes))])
            })),
            ("statistics", .object([("tablesPerLevel", .array(s.tablesPerLevel.map { .int(Int64($0)) })),
                                    ("blocksPerLevel", .array(s.blocksPerLevel.map { .int(Int64($0)) })),
                                    ("pages", .int(Int64(s.pages))), ("tableBytes", .uint(s.tableBytes)),
                                    ("mappedBytes", .uint(s.mappedBytes)), ("runs", .int(Int64(s.runs))),
                                    ("roundTrips", .int(Int64(s.roundTrips)))])),
            ("problems", .array(dump.problems.map { .string($0.description) })),
        ])
    }

    static func change(_ c: AddressSpaceChange, space: String) -> JSONValue {
        .object([("space", .string(space)), ("kind", .string(c.kind.rawValue)), ("vaStart", .hex(c.virtualStart)),
                 ("size", .hex(c.size)), ("oldPa", c.oldPhysicalStart.map(JSONValue.hex) ?? .null),
                 ("newPa", c.newPhysicalStart.map(JSONValue.hex) ?? .null), ("text", .string(c.description))])
    }

    static func check(_ r: ConsistencyChecker.Report) -> JSONValue {
        .object([("findings", .array(r.findings.map { f in
                     .object([("kind", .string(f.kind.rawValue)), ("pid", f.pid.map { .int($0) } ?? .null),
                              ("va", f.virtualAddress.map(JSONValue.hex) ?? .null),
                              ("pa", f.physicalAddress.map(JSONValue.hex) ?? .null), ("text", .string(f.description))])
                 })),
                 ("tasksChecked", .int(Int64(r.tasksChecked))), ("userPagesChecked", .int(Int64(r.userPagesChecked))),
                 ("tablesChecked", .int(Int64(r.tablesChecked))), ("kernelRunsChecked", .int(Int64(r.kernelRunsChecked))),
                 ("clean", .bool(r.findings.isEmpty))])
    }
}
