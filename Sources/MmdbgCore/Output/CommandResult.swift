/// A text table: column titles plus rows of cells, rendered aligned.
public struct TextTable: Equatable, Sendable {
    public enum Alignment: Sendable { case left, right }
    public struct Column: Equatable, Sendable {
        public var title: String
        public var alignment: Alignment
        public init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }
    public var columns: [Column]
    public var rows: [[String]]
    public init(columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }
}

/// One piece of a command's human-readable output.
public enum OutputBlock: Equatable, Sendable {
    case text(String)
    case table(TextTable)
    /// `name: value` lines with the names aligned.
    case fields([(String, String)])

    public static func == (a: OutputBlock, b: OutputBlock) -> Bool {
        switch (a, b) {
        case let (.text(x), .text(y)): return x == y
        case let (.table(x), .table(y)): return x == y
        case let (.fields(x), .fields(y)): return x.count == y.count && zip(x, y).allSatisfy { $0 == $1 }
        default: return false
        }
    }
}

/// What a successful command produced: text blocks for people and one JSON
/// value for programs (`--json`). Both are built from the same data.
public struct CommandOutput: Equatable, Sendable {
    public var blocks: [OutputBlock]
    public var json: JSONValue
    public init(blocks: [OutputBlock], json: JSONValue) {
        self.blocks = blocks
        self.json = json
    }

    /// A plain message (`json` = `{"message": text}` unless given).
    public static func message(_ text: String, json: JSONValue? = nil) -> CommandOutput {
        CommandOutput(blocks: [.text(text)], json: json ?? .object([("message", .string(text))]))
    }

    /// A table whose JSON is an array of objects keyed by `keys` (one per column).
    public static func table(_ table: TextTable, keys: [String], jsonRows: [[JSONValue]]? = nil,
                             extra: [(String, JSONValue)] = [], listKey: String = "rows") -> CommandOutput {
        let rows = jsonRows ?? table.rows.map { $0.map(JSONValue.string) }
        let objects = rows.map { JSONValue.object(Array(zip(keys, $0))) }
        return CommandOutput(blocks: [.table(table)], json: .object(extra + [(listKey, .array(objects))]))
    }
}

/// The result of running one command line: what was run and either its
/// output or the one-line error.
public struct CommandResult: Sendable {
    /// The command line as typed.
    public var line: String
    /// The canonical command name, when the line named a known command.
    public var command: String?
    public var outcome: Result<CommandOutput, CommandError>
    /// Set by `quit`: the caller should end the session.
    public var endsSession = false

    public init(line: String, command: String?, outcome: Result<CommandOutput, CommandError>, endsSession: Bool = false) {
        self.line = line
        self.command = command
        self.outcome = outcome
        self.endsSession = endsSession
    }

    public var succeeded: Bool { if case .success = outcome { return true } else { return false } }
    public var error: CommandError? { if case .failure(let e) = outcome { return e } else { return nil } }

    /// The `--json` document for this result (shape documented in README "JSON output").
    public var jsonDocument: JSONValue {
        var fields: [(String, JSONValue)] = [("command", command.map(JSONValue.string) ?? .null),
                                             ("line", .string(line))]
        switch outcome {
        case .success(let output):
            fields += [("ok", .bool(true)), ("result", output.json)]
        case .failure(let error):
            fields += [("ok", .bool(false)), ("error", .string(error.description))]
            // A run-control command that missed its stop still stopped somewhere: say where.
            if let stop = error.stop { fields.append(("result", stop)) }
        }
        return .object(fields)
    }
}
