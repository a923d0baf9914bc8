import MmdbgCore

/// JSON shapes of fault-injection values in command output.
enum TraceJSON {
    static func hit(_ hit: FaultHit) -> JSONValue {
        .object([("sequence", .int(Int64(hit.sequence))), ("fault", .int(Int64(hit.fault))), ("hit", .int(Int64(hit.hit))),
                 ("pid", hit.pid.map { .int($0) } ?? .null), ("pc", .hex(hit.pc)),
                 ("location", hit.location.map(JSONValue.string) ?? .null),
                 ("action", .string(hit.action)), ("detail", .string(hit.detail))])
    }
}
