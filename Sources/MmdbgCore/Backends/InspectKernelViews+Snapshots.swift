import Inspect

/// `snapshot NAME` and `pt diff [NAME]`: page tables now against a named snapshot or the previous stop.
extension InspectKernelViews {
    public func snapshot(name: String) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let snapshot = try captureSnapshot()
            named[name] = snapshot
            let count = snapshot.spaces.values.reduce(0) { $0 + $1.runs.count }
            return .message("snapshot \(name): \(snapshot.spaces.count) address spaces, \(count) runs",
                            json: .object([("name", .string(name)), ("addressSpaces", .array(snapshot.spaces.keys.sorted().map(JSONValue.string))),
                                           ("runs", .int(Int64(count)))]))
        }
    }

    public func diff(since name: String?) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let old: AddressSpaceSnapshot
            if let name {
                guard let saved = named[name] else {
                    throw .failed("no snapshot named \"\(CommandError.clip(name))\" (known: \(named.keys.sorted().joined(separator: ", ")))")
                }
                old = saved
            } else {
                guard let saved = previousStop else {
                    throw .failed("no previous stop recorded yet: `pt diff` compares with the tables before the last continue/step")
                }
                old = saved
            }
            let new = try captureSnapshot()
            var table = TextTable(columns: [.init("SPACE"), .init("CHANGE")])
            var json: [JSONValue] = []
            for change in new.changes(since: old) {
                switch change {
                case .appeared(let space):
                    table.rows.append([space, "address space appeared"])
                    json.append(.object([("space", .string(space)), ("kind", .string("appeared"))]))
                case .disappeared(let space):
                    table.rows.append([space, "address space disappeared"])
                    json.append(.object([("space", .string(space)), ("kind", .string("disappeared"))]))
                case .mapping(let space, let mapping):
                    table.rows.append([space, mapping.description])
                    json.append(KernelJSON.change(mapping, space: space))
                }
            }
            let label = name.map { "snapshot \($0)" } ?? "the previous stop"
            return CommandOutput(blocks: [.text("changes since \(label):"), .table(table)],
                                 json: .object([("since", .string(name ?? "previous-stop")), ("changes", .array(json))]))
        }
    }
}
