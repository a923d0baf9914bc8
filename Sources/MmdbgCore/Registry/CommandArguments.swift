/// The arguments of one command after option parsing against its spec.
public struct CommandArguments: Sendable {
    /// The command name as typed (may be an alias).
    public var invokedAs: String
    public var usage: String
    /// Positional arguments (words and quoted strings), in order.
    public var positionals: [Token]
    /// Options given; flags map to "".
    public var options: [String: String]
    /// The `/fmt` suffix, if any.
    public var format: String?

    public init(invokedAs: String, usage: String, positionals: [Token], options: [String: String], format: String?) {
        self.invokedAs = invokedAs
        self.usage = usage
        self.positionals = positionals
        self.options = options
        self.format = format
    }

    /// Parses `tokens` (after the command name) against `spec`.
    public init(tokens: [Token], spec: CommandSpec, invokedAs: String) throws(CommandError) {
        self.invokedAs = invokedAs
        self.usage = spec.usage
        var positionals: [Token] = []
        var options: [String: String] = [:]
        var format: String?
        var index = 0
        if spec.rawArguments {
            positionals = tokens.map { token in
                if case .quoted = token { return token }
                return .word(token.text)
            }
            index = tokens.count
        }
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            switch token {
            case .word, .quoted:
                positionals.append(token)
            case .format(let f):
                guard format == nil else { throw .usage("more than one /format", usage: spec.usage) }
                format = f
            case .option(let name, let attached):
                guard let option = spec.options.first(where: { $0.name == name }) else {
                    let known = spec.options.map { "--" + $0.name }.joined(separator: ", ")
                    throw .usage("unknown option --\(name)" + (known.isEmpty ? "" : " (known: \(known))"), usage: spec.usage)
                }
                if option.valueName != nil {
                    if let attached {
                        options[name] = attached
                    } else if index < tokens.count, case .word(let value) = tokens[index] {
                        options[name] = value
                        index += 1
                    } else if index < tokens.count, case .quoted(let value) = tokens[index] {
                        options[name] = value
                        index += 1
                    } else {
                        throw .usage("--\(name) needs a value", usage: spec.usage)
                    }
                } else {
                    guard attached == nil else { throw .usage("--\(name) takes no value", usage: spec.usage) }
                    options[name] = ""
                }
            }
        }
        self.positionals = positionals
        self.options = options
        self.format = format
    }

    public func flag(_ name: String) -> Bool { options[name] != nil }

    public func usageError(_ why: String) -> CommandError { .usage(why, usage: usage) }

    /// Fails unless the number of positionals is within `range`.
    public func expectCount(_ range: ClosedRange<Int>) throws(CommandError) {
        if positionals.count < range.lowerBound {
            throw usageError(range.lowerBound == 1 ? "missing argument" : "expected at least \(range.lowerBound) arguments")
        }
        if positionals.count > range.upperBound {
            throw usageError("unexpected argument \"\(positionals[range.upperBound].text)\"")
        }
    }

    /// A plain integer argument as its raw 64-bit value (`-1` is 2^64-1; no
    /// registers or symbols). Never convert it with `Int(...)`: for counts,
    /// lengths and ids use `count(at:in:name:)`, which bounds it first.
    public func integer(at index: Int) throws(CommandError) -> UInt64 {
        let text = positionals[index].text
        guard let value = NumberParser.parse(text) else { throw .badNumber(text) }
        return value
    }

    /// A count argument (a plain integer) within `range`. The range is checked on
    /// the parsed 64-bit value before any conversion to `Int`, so `-1` (two's
    /// complement: 2^64-1) or a value past `Int.max` is a usage error naming the
    /// range, never a trap.
    public func count(at index: Int, in range: ClosedRange<Int>, name: String) throws(CommandError) -> Int {
        try bounded(positionals[index].text, in: range, name: name)
    }

    /// A count option value within `range`, or nil when the option is absent.
    public func countOption(_ option: String, in range: ClosedRange<Int>) throws(CommandError) -> Int? {
        guard let text = options[option] else { return nil }
        return try bounded(text, in: range, name: "--" + option)
    }

    /// Longest deadline an option may give (a day): anything longer is a typo.
    public static let maxSeconds: Double = 86_400

    /// A duration option in seconds (`--timeout 5`, `--within 0.5`), or nil when
    /// absent. Zero, negative, non-finite or a day and more are usage errors that
    /// say so (a bare "bad number" would not: `0` is a fine number).
    public func secondsOption(_ option: String) throws(CommandError) -> Double? {
        guard let text = options[option] else { return nil }
        guard let seconds = Double(text), seconds.isFinite else {
            throw usageError("--\(option) takes seconds (like 5 or 0.5), not \"\(CommandError.clip(text))\"")
        }
        guard seconds > 0, seconds < CommandArguments.maxSeconds else {
            throw usageError("--\(option) must be more than 0 and less than \(Int(CommandArguments.maxSeconds)) seconds, not \(CommandError.clip(text))")
        }
        return seconds
    }

    /// `text` as a plain integer within `range` (see `count(at:in:name:)`).
    public func bounded(_ text: String, in range: ClosedRange<Int>, name: String) throws(CommandError) -> Int {
        guard let value = NumberParser.parse(text) else { throw .badNumber(text) }
        // A leading minus is a negative count whatever its two's-complement value.
        guard !text.hasPrefix("-"), value >= UInt64(max(0, range.lowerBound)), value <= UInt64(max(0, range.upperBound)) else {
            throw usageError("\(name) must be \(range.lowerBound)…\(range.upperBound), not \(CommandError.clip(text))")
        }
        return Int(value)
    }

    /// The rest of the line from `index` on, joined with spaces (for `monitor`).
    public func rest(from index: Int) -> String {
        positionals.dropFirst(index).map(\.text).joined(separator: " ")
    }
}
