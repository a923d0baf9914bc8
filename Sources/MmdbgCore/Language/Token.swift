/// One lexical unit of the mmdbg command language.
///
/// The language is shared by the interactive prompt, `-ex`, `--batch` files
/// and fault-injection scenario files, so the tokenizer knows nothing about
/// particular commands: it only separates words, quoted strings, options
/// (`--phys`, `--pid=3`) and gdb-style format suffixes (`/g`, `/4x`).
public enum Token: Equatable, Sendable, CustomStringConvertible {
    /// A bare word: a command name, number, `$register`, symbol or expression.
    case word(String)
    /// A quoted string, with escapes already resolved.
    case quoted(String)
    /// `--name` or `--name=value` (the value part, when attached with `=`).
    case option(name: String, value: String?)
    /// A `/fmt` suffix such as `/g` or `/8x`, without the slash.
    case format(String)

    /// The text of the token as the command sees it.
    public var text: String {
        switch self {
        case .word(let w), .quoted(let w): return w
        case .option(let name, let value): return value.map { "--\(name)=\($0)" } ?? "--\(name)"
        case .format(let f): return "/" + f
        }
    }

    public var description: String { text }
}
