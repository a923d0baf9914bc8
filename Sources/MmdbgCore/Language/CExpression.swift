import DebugInfo

/// A C-like expression of `print`, `ptype` and `whatis` (README "Expression language"):
/// literals, `$registers`, globals and ELF symbols, `.`, `->`, `[i]`, unary `* & - ~ !`,
/// casts to DWARF types `(struct mm_task *)ADDR`, binary arithmetic, shifts, bitwise,
/// comparison and logical operators, `sizeof`. Errors are one line naming the column.
public indirect enum CExpression: Equatable, Sendable {
    case number(UInt64, type: String)
    case register(String)
    case identifier(String)
    case member(CExpression, String)
    case arrow(CExpression, String)
    case index(CExpression, CExpression)
    case unary(String, CExpression)
    case cast(CTypeName, CExpression)
    case binary(String, CExpression, CExpression)
    case sizeofType(CTypeName)
    case sizeofExpression(CExpression)

    /// Nesting deeper than this is refused (the parser recurses).
    public static let maximumDepth = 64
    /// Longer input is refused.
    public static let maximumLength = 4096

    /// Parses `text`; `isTypeName` tells a typedef name (`uint64_t`) from a variable, so
    /// `(uint64_t)x` is a cast and `(x)` a parenthesis.
    public init(parsing text: String, isTypeName: @escaping (String) -> Bool = { _ in false }) throws(CommandError) {
        var parser = try CExpressionParser(text, isTypeName: isTypeName)
        self = try parser.parseWhole()
    }

    /// Parses `text` as a type name alone (`struct mm_task *`, `uint64_t`), or nil if it is not one.
    public static func typeName(_ text: String, isTypeName: @escaping (String) -> Bool) -> CTypeName? {
        guard var parser = try? CExpressionParser(text, isTypeName: isTypeName), parser.startsTypeName(at: 0),
              let type = try? parser.parseTypeName(), parser.atEnd else { return nil }
        return type
    }
}

/// A type name in a cast or `sizeof`: a base (`struct mm_task`, `unsigned long`, `uint64_t`)
/// and declarator suffixes (`*`, `[4]`), applied left to right.
public struct CTypeName: Equatable, Sendable, CustomStringConvertible {
    public var base: String
    public enum Suffix: Equatable, Sendable { case pointer, array(UInt64) }
    public var suffixes: [Suffix]
    public var description: String {
        var text = base
        var stars = ""
        var arrays = ""
        for suffix in suffixes {
            switch suffix {
            case .pointer: stars += "*"
            case .array(let n): arrays += "[\(n)]"
            }
        }
        if !stars.isEmpty || !arrays.isEmpty { text += " " + stars + arrays }
        return text
    }
}

/// One token of an expression, with its column (1-based) for errors.
struct CExpressionToken: Equatable {
    enum Kind: Equatable { case number(UInt64, String), identifier(String), register(String), punct(String), end }
    var kind: Kind
    var column: Int
}

struct CExpressionParser {
    private var tokens: [CExpressionToken]
    private var position = 0
    private var depth = 0
    private let isTypeName: (String) -> Bool
    private let text: String

    static let punctuation = ["<<=", ">>=", "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
                              "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "(", ")", "[", "]", ".", ","]
    static let baseTypeWords: Set<String> = ["char", "short", "int", "long", "unsigned", "signed", "void", "_Bool", "float", "double"]

    init(_ text: String, isTypeName: @escaping (String) -> Bool) throws(CommandError) {
        self.text = text
        self.isTypeName = isTypeName
        guard text.count <= CExpression.maximumLength else {
            throw .syntax("expression longer than \(CExpression.maximumLength) characters")
        }
        tokens = try Self.tokenize(text)
    }

    var atEnd: Bool { if case .end = tokens[position].kind { return true } else { return false } }

    static func tokenize(_ text: String) throws(CommandError) -> [CExpressionToken] {
        let chars = Array(text)
        var tokens: [CExpressionToken] = []
        var i = 0
        func isWordChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        while i < chars.count {
            let c = chars[i]
            let column = i + 1
            if c.isWhitespace { i += 1; continue }
            if c.isASCII && c.isNumber {
                var j = i
                while j < chars.count, isWordChar(chars[j]) || chars[j] == "'" { j += 1 }
                let word = String(chars[i..<j])
                var digits = Substring(word)
                var suffix = ""
                // C suffixes: u, l, ul, ull (decimal and hex; hex digits never include u/l).
                while let last = digits.last, "uUlL".contains(last), digits.count > 1 {
                    suffix = String(last).lowercased() + suffix
                    digits = digits.dropLast()
                }
                guard let value = NumberParser.parse(String(digits)) else {
                    throw .syntax("bad number \"\(CommandError.clip(word))\" at column \(column)")
                }
                let isHex = digits.lowercased().hasPrefix("0x") || digits.lowercased().hasPrefix("0b") || digits.lowercased().hasPrefix("0o")
                let type: String
                if suffix.contains("u") { type = value <= UInt64(UInt32.max) && !suffix.contains("l") ? "unsigned int" : "unsigned long" }
                else if suffix.contains("l") { type = value <= UInt64(Int64.max) ? "long" : "unsigned long" }
                else if value <= UInt64(Int32.max) { type = "int" }
                else if isHex && value <= UInt64(UInt32.max) { type = "unsigned int" }
                else if value <= UInt64(Int64.max) { type = "long" }
                else { type = "unsigned long" }
                tokens.append(CExpressionToken(kind: .number(value, type), column: column))
                i = j
                continue
            }
            if c == "'" {
                // A character literal: 'a', '\n', '\0', '\\', '\''.
                var j = i + 1
                var value: UInt64?
                if j < chars.count, chars[j] == "\\", j + 1 < chars.count {
                    let escapes: [Character: UInt64] = ["n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, "\"": 34, "a": 7, "b": 8]
                    value = escapes[chars[j + 1]]
                    j += 2
                } else if j < chars.count, let ascii = chars[j].asciiValue {
                    value = UInt64(ascii)
                    j += 1
                }
                guard let value, j < chars.count, chars[j] == "'" else {
                    throw .syntax("bad character literal at column \(column)")
                }
                tokens.append(CExpressionToken(kind: .number(value, "char"), column: column))
                i = j + 1
                continue
            }
            if c == "$" || isWordChar(c) {
                var j = i + 1
                while j < chars.count, isWordChar(chars[j]) { j += 1 }
                let word = String(chars[(c == "$" ? i + 1 : i)..<j])
                if c == "$" {
                    guard !word.isEmpty else { throw .syntax("`$` at column \(column) must be followed by a register name") }
                    tokens.append(CExpressionToken(kind: .register(word), column: column))
                } else {
                    tokens.append(CExpressionToken(kind: .identifier(word), column: column))
                }
                i = j
                continue
            }
            guard let op = punctuation.first(where: { op in
                i + op.count <= chars.count && String(chars[i..<(i + op.count)]) == op
            }), op != "<<=", op != ">>=" else {
                throw .syntax("unexpected \"\(CommandError.clip(String(c)))\" at column \(column)")
            }
            tokens.append(CExpressionToken(kind: .punct(op), column: column))
            i += op.count
        }
        tokens.append(CExpressionToken(kind: .end, column: chars.count + 1))
        return tokens
    }

    // MARK: grammar (precedence climbing for binary operators, recursive descent for the rest)

    private static let precedence: [String: Int] = [
        "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
        "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
    ]

    mutating func parseWhole() throws(CommandError) -> CExpression {
        guard !atEnd else { throw .syntax("empty expression") }
        let expression = try parseBinary(minimum: 1)
        guard atEnd else { throw error("unexpected \(describe(tokens[position]))") }
        return expression
    }

    private func describe(_ token: CExpressionToken) -> String {
        switch token.kind {
        case .number(let value, _): return "number \(value)"
        case .identifier(let name): return "\"\(CommandError.clip(name))\""
        case .register(let name): return "\"$\(CommandError.clip(name))\""
        case .punct(let op): return "\"\(op)\""
        case .end: return "end of expression"
        }
    }

    private func error(_ why: String) -> CommandError {
        .syntax("\(why) at column \(tokens[position].column)")
    }

    private func isPunct(_ op: String, at offset: Int = 0) -> Bool {
        guard position + offset < tokens.count else { return false }
        return tokens[position + offset].kind == .punct(op)
    }

    private mutating func expect(_ op: String) throws(CommandError) {
        guard isPunct(op) else { throw error("expected \"\(op)\" but found \(describe(tokens[position]))") }
        position += 1
    }

    private mutating func enter() throws(CommandError) {
        depth += 1
        guard depth <= CExpression.maximumDepth else { throw error("expression nested deeper than \(CExpression.maximumDepth)") }
    }

    private mutating func parseBinary(minimum: Int) throws(CommandError) -> CExpression {
        try enter(); defer { depth -= 1 }
        var left = try parseUnary()
        while case .punct(let op) = tokens[position].kind, let level = Self.precedence[op], level >= minimum {
            position += 1
            let right = try parseBinary(minimum: level + 1)
            left = .binary(op, left, right)
        }
        return left
    }

    /// True when the token at `offset` from here starts a type name.
    func startsTypeName(at offset: Int) -> Bool {
        guard position + offset < tokens.count, case .identifier(let word) = tokens[position + offset].kind else { return false }
        return ["struct", "union", "enum", "const", "volatile"].contains(word) || Self.baseTypeWords.contains(word) || isTypeName(word)
    }

    mutating func parseTypeName() throws(CommandError) -> CTypeName {
        var words: [String] = []
        while case .identifier(let word) = tokens[position].kind {
            if word == "const" || word == "volatile" { position += 1; continue }
            if word == "struct" || word == "union" || word == "enum" {
                position += 1
                guard case .identifier(let tag) = tokens[position].kind else { throw error("expected a name after \"\(word)\"") }
                position += 1
                words.append(word + " " + tag)
                break
            }
            if Self.baseTypeWords.contains(word) || (words.isEmpty && isTypeName(word)) {
                words.append(word)
                position += 1
                if !Self.baseTypeWords.contains(word) { break }
                continue
            }
            break
        }
        guard !words.isEmpty else { throw error("expected a type name but found \(describe(tokens[position]))") }
        var suffixes: [CTypeName.Suffix] = []
        while true {
            if isPunct("*") { position += 1; suffixes.append(.pointer); continue }
            if case .identifier(let word) = tokens[position].kind, word == "const" || word == "volatile" { position += 1; continue }
            if isPunct("[") {
                position += 1
                guard case .number(let count, _) = tokens[position].kind else { throw error("expected an array length") }
                position += 1
                try expect("]")
                suffixes.append(.array(count))
                continue
            }
            break
        }
        return CTypeName(base: Self.normalise(words), suffixes: suffixes)
    }

    /// `unsigned` → `unsigned int`, `long int` → `long`, `signed char` stays.
    private static func normalise(_ words: [String]) -> String {
        if words.count == 1, words[0] == "unsigned" { return "unsigned int" }
        if words.count == 1, words[0] == "signed" { return "int" }
        var list = words
        if list.count > 1, list.last == "int", list.contains(where: { $0 == "long" || $0 == "short" }) { list.removeLast() }
        if list.first == "signed", list.count > 1, list[1] != "char" { list.removeFirst() }
        return list.joined(separator: " ")
    }

    private mutating func parseUnary() throws(CommandError) -> CExpression {
        try enter(); defer { depth -= 1 }
        if case .punct(let op) = tokens[position].kind, ["*", "&", "-", "+", "~", "!"].contains(op) {
            position += 1
            let operand = try parseUnary()
            return op == "+" ? operand : .unary(op, operand)
        }
        if tokens[position].kind == .identifier("sizeof") {
            position += 1
            if isPunct("("), startsTypeName(at: 1) {
                position += 1
                let type = try parseTypeName()
                try expect(")")
                return .sizeofType(type)
            }
            return .sizeofExpression(try parseUnary())
        }
        if isPunct("("), startsTypeName(at: 1) {
            position += 1
            let type = try parseTypeName()
            try expect(")")
            return .cast(type, try parseUnary())
        }
        return try parsePostfix()
    }

    private mutating func parsePostfix() throws(CommandError) -> CExpression {
        var expression = try parsePrimary()
        while true {
            if isPunct(".") || isPunct("->") {
                let arrow = isPunct("->")
                position += 1
                guard case .identifier(let name) = tokens[position].kind else {
                    throw error("expected a member name after \"\(arrow ? "->" : ".")\"")
                }
                position += 1
                expression = arrow ? .arrow(expression, name) : .member(expression, name)
            } else if isPunct("[") {
                position += 1
                let subscriptExpression = try parseBinary(minimum: 1)
                try expect("]")
                expression = .index(expression, subscriptExpression)
            } else {
                return expression
            }
        }
    }

    private mutating func parsePrimary() throws(CommandError) -> CExpression {
        let token = tokens[position]
        switch token.kind {
        case .number(let value, let type):
            position += 1
            return .number(value, type: type)
        case .register(let name):
            position += 1
            return .register(name)
        case .identifier(let name):
            guard !startsTypeName(at: 0) || isTypeName(name) == false && !Self.baseTypeWords.contains(name) && !["struct", "union", "enum"].contains(name) else {
                throw error("type name \"\(CommandError.clip(name))\" is not a value (cast it: (TYPE)VALUE)")
            }
            position += 1
            return .identifier(name)
        case .punct("("):
            position += 1
            let inner = try parseBinary(minimum: 1)
            try expect(")")
            return inner
        default:
            throw error("expected a value but found \(describe(token))")
        }
    }
}
