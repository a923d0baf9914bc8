/// What the prompt offers when completing an argument.
public enum CompletionKind: Equatable, Sendable {
    case none
    case command
    case symbol
    case register
    case taskID
    case file
    /// Symbols and registers (an address expression: `$pc`, `map_page+4`).
    case address
    /// An address expression or a source file of the ELF's DWARF as `FILE:` (then a line number).
    case location
    case keywords([String])
    /// Any of these (`pt`: `kernel`, `diff` or a task id); file names do not mix in.
    case oneOf([CompletionKind])
}

/// An option a command accepts: a flag (`--phys`) or one with a value (`--pid 3`).
public struct OptionSpec: Equatable, Sendable {
    public var name: String
    /// Name of the value in the usage line, or nil for a flag.
    public var valueName: String?
    public var help: String
    /// What the prompt offers for the option's value.
    public var completion: CompletionKind
    public init(_ name: String, value: String? = nil, help: String, completion: CompletionKind = .none) {
        self.name = name
        self.valueName = value
        self.help = help
        self.completion = completion
    }
}

/// The handler of a command: runs with the parsed arguments against the session.
public typealias CommandHandler = (CommandArguments, Session) throws(CommandError) -> CommandOutput

/// One command of the language: names, documentation, how to complete its
/// arguments, and what it does. Other modules add commands (or replace
/// placeholders) with `CommandRegistry.register(_:)`.
/// `@unchecked Sendable`: a spec is an immutable value built once, and its
/// handler runs only on the thread that drives the session; requiring
/// `@Sendable` handlers would stop extensions from capturing their engines.
public struct CommandSpec: @unchecked Sendable {
    /// The canonical name (`continue`).
    public var name: String
    /// Other names (`c`, `cont`).
    public var aliases: [String]
    /// One line for the command list.
    public var summary: String
    /// e.g. `x ADDR [COUNT] [/b|h|w|g|s] [--phys]`.
    public var usage: String
    /// Longer help text for `help CMD` (may be empty).
    public var details: String
    /// Example lines shown by `help CMD`.
    public var examples: [String]
    /// The options the command accepts; anything else is a usage error.
    public var options: [OptionSpec]
    /// Completion for each positional argument; the last one repeats.
    public var completions: [CompletionKind]
    /// A group name for `help` (e.g. "memory", "run control").
    public var group: String
    /// What the command does.
    public var handler: CommandHandler
    /// Pass every token through as a positional (no option parsing): for
    /// commands that forward their line elsewhere (`monitor`, placeholders).
    public var rawArguments = false

    public init(name: String, aliases: [String] = [], group: String, summary: String, usage: String,
                details: String = "", examples: [String] = [], options: [OptionSpec] = [],
                completions: [CompletionKind] = [], handler: @escaping CommandHandler) {
        self.name = name
        self.aliases = aliases
        self.group = group
        self.summary = summary
        self.usage = usage
        self.details = details
        self.examples = examples
        self.options = options
        self.completions = completions
        self.handler = handler
    }

    /// What to complete for the positional argument at `index`.
    public func completion(forArgument index: Int) -> CompletionKind {
        guard !completions.isEmpty else { return .none }
        return completions[min(index, completions.count - 1)]
    }
}
