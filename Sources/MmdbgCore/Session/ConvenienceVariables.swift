import DebugInfo

/// gdb's value history and convenience variables: `$1`, `$2`… (every `print` result, a snapshot of its
/// bytes and address), `$_` (the last address `x` examined, typed
/// as gdb types it) and `$name` set by `print $name = EXPR` or `set var $name = EXPR`.
/// They live as long as the session (not dropped at a stop).
public final class ConvenienceVariables {
    public private(set) var history: [TypedValue] = []
    public private(set) var named: [String: TypedValue] = [:]

    /// Records a printed value; returns its history number (1-based).
    @discardableResult
    public func record(_ value: TypedValue) -> Int {
        history.append(value)
        return history.count
    }

    public func set(_ name: String, _ value: TypedValue) { named[name] = value }

    /// `1`, `_`, `name` (without the `$`): the value, or nil when unset (registers are looked up next).
    public func value(_ name: String) -> TypedValue? {
        if let number = Int(name), number >= 1, number <= history.count { return history[number - 1] }
        return named[name]
    }
}

extension Session {
    /// This session's value history and convenience variables.
    public var convenience: ConvenienceVariables {
        if let known = extensions["convenience"] as? ConvenienceVariables { return known }
        let made = ConvenienceVariables()
        extensions["convenience"] = made
        return made
    }
}
