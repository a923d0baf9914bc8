import Foundation
import SeededRandom

/// One fault point of a campaign: the `hit`-th eligible entry of `site`, as the golden run saw it.
public struct SweepPoint: Codable, Sendable, Equatable, Hashable {
    public var site: String
    public var hit: Int
    /// The task current at the hit (nil before the first task).
    public var pid: Int64?
    /// x30 at the entry, and the symbol it lies in (`allocate_user_page+0x24`).
    public var caller: UInt64
    public var callerSymbol: String?
    /// The return address in the caller's frame record (the call path one level further up).
    public var grandCaller: UInt64
    /// The `--balanced` calls this hit happens inside, as the golden run saw them (entry ordinal,
    /// SP, return address, free pages at entry): a run failing this hit watches only their returns.
    public var enclosing: [FaultEngine.PendingReturn] = []

    public init(site: String, hit: Int, pid: Int64?, caller: UInt64, callerSymbol: String?, grandCaller: UInt64) {
        self.site = site
        self.hit = hit
        self.pid = pid
        self.caller = caller
        self.callerSymbol = callerSymbol
        self.grandCaller = grandCaller
    }

    enum CodingKeys: String, CodingKey { case site, hit, pid, caller, callerSymbol, grandCaller, enclosing }

    /// Addresses as `"0x…"` strings: JSON numbers lose the bits above 2^53 of a kernel address.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(site, forKey: .site)
        try container.encode(hit, forKey: .hit)
        try container.encode(pid, forKey: .pid)
        try container.encodeAddress(caller, forKey: .caller)
        try container.encode(callerSymbol, forKey: .callerSymbol)
        try container.encodeAddress(grandCaller, forKey: .grandCaller)
        try container.encode(enclosing, forKey: .enclosing)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        site = try container.decode(String.self, forKey: .site)
        hit = try container.decode(Int.self, forKey: .hit)
        pid = try container.decodeIfPresent(Int64.self, forKey: .pid)
        caller = try container.decodeAddress(forKey: .caller)
        callerSymbol = try container.decodeIfPresent(String.self, forKey: .callerSymbol)
        grandCaller = try container.decodeAddress(forKey: .grandCaller)
        enclosing = try container.decodeIfPresent([FaultEngine.PendingReturn].self, forKey: .enclosing) ?? []
    }

    /// The function part of `callerSymbol` (`allocate_user_page`).
    public var callerFunction: String {
        guard let symbol = callerSymbol else { return String(format: "0x%llx", caller) }
        return symbol.split(separator: "+").first.map(String.init) ?? symbol
    }

    /// The call path pruning compares: the same site reached by the same task from the same
    /// call site, whose caller returns to the same place.
    public var callPathKey: String {
        "\(site)|\(pid.map(String.init) ?? "-")|\(String(caller, radix: 16))|\(String(grandCaller, radix: 16))"
    }
}

/// One run of the campaign: fail exactly these points (one, or two with `--depth 2`).
public struct SweepRun: Codable, Sendable, Equatable {
    /// Position in the whole campaign's run list (before sharding), 1-based.
    public var index: Int
    public var points: [SweepPoint]

    public init(index: Int, points: [SweepPoint]) {
        self.index = index
        self.points = points
    }

    /// `get_free_page#3` or `get_free_page#3+get_free_page#7`.
    public var label: String { points.map { "\($0.site)#\($0.hit)" }.joined(separator: "+") }
}

/// Which runs a campaign makes from the golden run's hits: every point (or pairs),
/// pruned, capped, sampled, then the shard's share. Pure, so every shard of a
/// campaign computes the same list from the same golden run.
public struct SweepSelection: Sendable, Equatable {
    public var depth = 1
    public var prune = false
    public var max: Int?
    public var sample: Int?
    public var seed: UInt64 = 0
    /// 1-based shard and count (`--shard 2/3`).
    public var shard: (index: Int, count: Int) = (1, 1)

    public init() {}

    public static func == (a: SweepSelection, b: SweepSelection) -> Bool {
        a.depth == b.depth && a.prune == b.prune && a.max == b.max && a.sample == b.sample && a.seed == b.seed
            && a.shard == b.shard
    }

    /// Points left after pruning: the first point of each key. The key is the point's call path
    /// (site, task, call site, the caller's return address) and the call site of the same task's
    /// previous hit of the site: a hit reached the same way right after the same kind of
    /// allocation is assumed to fail the same way (a heuristic, not a proof: see README).
    public func pruned(_ points: [SweepPoint]) -> [SweepPoint] {
        guard prune else { return points }
        var seen = Set<String>()
        var previous: [String: String] = [:]  // site|pid → the previous hit's call site
        return points.filter { point in
            let stream = "\(point.site)|\(point.pid.map(String.init) ?? "-")"
            let key = point.callPathKey + "|after " + (previous[stream] ?? "-")
            previous[stream] = String(point.caller, radix: 16)
            return seen.insert(key).inserted
        }
    }

    /// The whole campaign (every shard's runs), indexed 1…n.
    public func campaign(_ points: [SweepPoint]) -> [SweepRun] {
        let kept = pruned(points)
        var combos: [[SweepPoint]] = kept.map { [$0] }
        if depth >= 2 {
            for i in kept.indices { for j in kept.indices where j > i { combos.append([kept[i], kept[j]]) } }
        }
        if let max { combos = Array(combos.prefix(max)) }
        if let sample, sample < combos.count {
            var generator = SeededGenerator(seed: seed)
            var chosen = Set<Int>()
            while chosen.count < sample { chosen.insert(Int(generator.next() % UInt64(combos.count))) }
            combos = combos.indices.filter { chosen.contains($0) }.map { combos[$0] }
        }
        return combos.enumerated().map { SweepRun(index: $0.offset + 1, points: $0.element) }
    }

    /// This shard's runs: every `count`-th run starting at `index` (round robin,
    /// so shards get a similar mix of early and late hits).
    public func shardRuns(_ runs: [SweepRun]) -> [SweepRun] {
        runs.filter { ($0.index - 1) % shard.count == shard.index - 1 }
    }

    /// Parses `K/N` (1 ≤ K ≤ N ≤ 10 000).
    public static func parseShard(_ text: String) -> (index: Int, count: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 10_000, k >= 1, k <= n else {
            return nil
        }
        return (k, n)
    }
}
