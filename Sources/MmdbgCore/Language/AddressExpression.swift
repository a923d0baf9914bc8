/// Resolves names in an address expression. The session implements it from
/// the live target (registers) and the ELF (symbols).
public protocol ExpressionContext {
    /// Value of a register named without its `$` (`pc`, `x0`, `TTBR1_EL1`).
    func registerValue(_ name: String) throws(CommandError) -> UInt64
    /// Address of an ELF symbol.
    func symbolAddress(_ name: String) throws(CommandError) -> UInt64
}

/// An address expression: terms joined by `+` and `-` (wrapping 64-bit
/// arithmetic), each term a number, a `$register` or a symbol.
///
///     0x40200000      $pc+4      map_page+0x10      mm_tasks+3*0   (no `*`)
public struct AddressExpression: Equatable, Sendable {
    /// One operand.
    public enum Term: Equatable, Sendable {
        case number(UInt64)
        case register(String)
        case symbol(String)
    }
    /// Each term with its sign (`true` = subtract).
    public let terms: [(negated: Bool, term: Term)]

    public static func == (a: AddressExpression, b: AddressExpression) -> Bool {
        a.terms.count == b.terms.count && zip(a.terms, b.terms).allSatisfy { $0.negated == $1.negated && $0.term == $1.term }
    }

    public init(parsing text: String) throws(CommandError) {
        guard !text.isEmpty else { throw .syntax("empty address expression") }
        var terms: [(Bool, Term)] = []
        var current = ""
        var negated = false
        func flush() throws(CommandError) {
            guard !current.isEmpty else { throw .syntax("missing operand in \"\(text)\"") }
            terms.append((negated, try AddressExpression.term(current)))
            current = ""
        }
        for (i, c) in text.enumerated() {
            if (c == "+" || c == "-") && !(i == 0 && c == "-") {
                try flush()
                negated = (c == "-")
            } else {
                current.append(c)
            }
        }
        try flush()
        self.terms = terms
    }

    private static func term(_ text: String) throws(CommandError) -> Term {
        if text.hasPrefix("$") {
            let name = String(text.dropFirst())
            guard !name.isEmpty else { throw .syntax("`$` must be followed by a register name") }
            return .register(name)
        }
        if NumberParser.looksNumeric(text) {
            guard let value = NumberParser.parse(text) else { throw .badNumber(text) }
            return .number(value)
        }
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "$" }) else {
            throw .syntax("\"\(text)\" is neither a number, a $register nor a symbol")
        }
        return .symbol(text)
    }

    /// True when the expression is a single literal (no target state needed).
    public var isLiteral: Bool { terms.allSatisfy { if case .number = $0.term { return true } else { return false } } }

    /// The value, resolving registers and symbols through `context`.
    public func evaluate(in context: ExpressionContext) throws(CommandError) -> UInt64 {
        var total: UInt64 = 0
        for (negated, term) in terms {
            let value: UInt64
            switch term {
            case .number(let n): value = n
            case .register(let name): value = try context.registerValue(name)
            case .symbol(let name): value = try context.symbolAddress(name)
            }
            total = negated ? total &- value : total &+ value
        }
        return total
    }
}
