import DebugInfo

/// What a value means beyond its C type, asked by `ValueFormatter` before it formats a value as
/// gdb would (on by default; `print/r` turns it off). MmdbgCore's kernel printer
/// (`KernelValuePrinter`) names task states, shows `user_pages` as the slots in use and says
/// whether a physical address is a free or an allocated page; the formatter itself stays generic.
public protocol ValuePrettyPrinter {
    /// Replacement text for `value` (recognised by its type and `memberOf`), or nil to format it as gdb does.
    func text(_ value: TypedValue, formatter: ValueFormatter, depth: Int) throws(CommandError) -> String?
}
