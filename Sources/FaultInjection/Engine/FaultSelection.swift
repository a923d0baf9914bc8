import SeededRandom
/// Which of a trigger's eligible hits fire. A hit is eligible when the
/// filters hold (the current task is `pid`; the caller, x30, lies in
/// `caller`); the counters below then count eligible hits only, so
/// "nth 2 with pid 3" means the second time task 3 reaches the trigger.
public struct FaultSelection: Equatable, Sendable, Codable {
    /// Only while this task is current (read from `mm_current`).
    public var pid: Int64?
    /// Only when called from this function (x30 within the symbol's range).
    public var caller: String?
    /// Only when this CPU (0-based: QEMU's CPU#N, mm_cpus[N]) reached the trigger.
    public var cpu: Int?
    /// Only the nth eligible hit (1-based).
    public var nth: Int?
    /// Every nth eligible hit (n, 2n, 3n…).
    public var every: Int?
    /// Only hits after the first n eligible ones.
    public var after: Int?
    /// At most k firings in total.
    public var atMost: Int?
    /// Fire with this probability (0…1), drawn from `seed`.
    public var probability: Double?
    public var seed: UInt64 = 0
    /// Exactly these eligible hit numbers (what `replay` pins a trace to).
    public var exactHits: [Int]?

    public init() {}

    /// Decides for eligible hit number `hit` (1-based) given `fired` earlier
    /// firings. `generator` is advanced exactly once per eligible hit when a
    /// probability is set, so the sequence does not depend on other filters.
    public func fires(hit: Int, fired: Int, generator: inout SeededGenerator) -> Bool {
        var decision = true
        if let probability {
            decision = generator.nextUnitInterval() < probability
        }
        if let exactHits { return exactHits.contains(hit) }
        if let nth, hit != nth { decision = false }
        if let every, hit % every != 0 { decision = false }
        if let after, hit <= after { decision = false }
        if let atMost, fired >= atMost { decision = false }
        return decision
    }

    /// True once no later hit can fire (past `nth`, or `atMost` firings):
    /// the engine then lifts the stop point so the run stops no more there.
    /// Judged on the original counters, so a replay pinned with `exactHits`
    /// lifts it at the same hit as the recorded run did.
    public func isExhausted(hits: Int, fired: Int) -> Bool {
        if let nth, hits >= nth { return true }
        if let atMost, fired >= atMost { return true }
        return false
    }

    /// `pid 2, caller map_table, nth 3`.
    public var description: String {
        var parts: [String] = []
        if let pid { parts.append("pid \(pid)") }
        if let caller { parts.append("caller \(caller)") }
        if let cpu { parts.append("cpu \(cpu)") }
        if let nth { parts.append("nth \(nth)") }
        if let every { parts.append("every \(every)") }
        if let after { parts.append("after \(after)") }
        if let atMost { parts.append("at most \(atMost)") }
        if let probability { parts.append("p \(probability) seed \(seed)") }
        if let exactHits { parts.append("hits \(exactHits.map(String.init).joined(separator: ","))") }
        return parts.isEmpty ? "every hit" : parts.joined(separator: ", ")
    }
}
