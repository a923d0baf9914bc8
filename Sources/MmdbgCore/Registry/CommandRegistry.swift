/// The set of commands a session understands, open to extension: other
/// modules (fault injection) register their own commands or replace the
/// placeholders registered under the same name.
public final class CommandRegistry {
    private var specs: [CommandSpec] = []

    public init() {}

    /// Adds a command, replacing any command with the same name.
    public func register(_ spec: CommandSpec) {
        specs.removeAll { $0.name == spec.name }
        specs.append(spec)
    }

    /// Every command, in registration order.
    public var commands: [CommandSpec] { specs }

    /// All names and aliases (for completion).
    public var allNames: [String] { specs.flatMap { [$0.name] + $0.aliases }.sorted() }

    /// Finds a command by exact name or alias, else by a unique prefix of a name.
    public func lookup(_ name: String) -> CommandSpec? {
        if let exact = specs.first(where: { $0.name == name || $0.aliases.contains(name) }) { return exact }
        let candidates = specs.filter { $0.name.hasPrefix(name) }
        return candidates.count == 1 ? candidates[0] : nil
    }

    /// Resolves a name or throws a one-line error with the closest name.
    public func resolve(_ name: String) throws(CommandError) -> CommandSpec {
        if let spec = lookup(name) { return spec }
        let prefixed = specs.filter { $0.name.hasPrefix(name) }.map(\.name)
        if prefixed.count > 1 {
            throw .unknownCommand(name, suggestion: prefixed.sorted().joined(separator: "` or `"))
        }
        throw .unknownCommand(name, suggestion: closestName(to: name))
    }

    /// The registered name nearest to `name` by edit distance, if reasonably close.
    public func closestName(to name: String) -> String? {
        var best: (String, Int)?
        for candidate in allNames {
            let d = EditDistance.between(name, candidate)
            if d <= max(1, name.count / 3), d < (best?.1 ?? .max) { best = (candidate, d) }
        }
        return best?.0
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
