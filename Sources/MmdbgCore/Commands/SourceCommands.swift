import DebugInfo
import Foundation

/// `list`, `info line` and `info source`: source files through the DWARF line tables.
enum SourceCommands {
    static var all: [CommandSpec] { [list] }

    /// `info` topics this file answers (BreakpointCommands' `info` dispatches here).
    static func infoTopic(_ name: String) -> CommandHandler? {
        switch name {
        case "line": return infoLine
        case "source": return infoSource
        case "frame", "f": return BacktraceCommands.infoFrame
        case "symbol": return SymbolCommands.infoSymbol
        case "address": return SymbolCommands.infoAddress
        case "scope": return infoScope
        case "layout": return KernelViewCommands.infoLayout
        case "locals": return FrameDataCommands.infoLocals
        case "args": return FrameDataCommands.infoArgs
        case "display": return FrameDataCommands.infoDisplay
        default: return nil
        }
    }

    /// A location as gdb spells it.
    enum Location {
        /// `*ADDR`, or an expression: `map_page`, `$pc`, `0xffff…`.
        case address(UInt64)
        /// `FILE:LINE` (FILE may be a path suffix: `UserPageTables.swift:141`).
        case fileLine(String, Int)
        /// `LINE` in the current source file.
        case line(Int)
    }

    static func parseLocation(_ text: String, _ session: Session) throws(CommandError) -> Location {
        if text.hasPrefix("*") { return .address(try session.evaluate(String(text.dropFirst()))) }
        if let colon = text.lastIndex(of: ":"), colon != text.startIndex,
           let line = Int(text[text.index(after: colon)...]), line > 0 {
            return .fileLine(String(text[..<colon]), line)
        }
        if let line = Int(text), line > 0 { return .line(line) }
        return .address(try session.evaluate(text))
    }

    /// The selected frame's location, or the PC's; nil when there is none.
    static func currentLocation(_ session: Session, _ info: DebugInfoFile) -> SourceLocation? {
        if session.target != nil, let frame = try? session.selectedBacktraceFrame(for: "list"), let location = frame.location {
            return location
        }
        guard session.target != nil, let pc = try? session.registerValue("pc") else { return nil }
        return try? info.location(at: pc)
    }

    /// `file:line` for a location (the file resolved to its full path from the line tables).
    static func resolve(_ location: Location, _ session: Session, _ info: DebugInfoFile,
                        command: String) throws(CommandError) -> SourceLocation {
        do throws(DebugInfoError) {
            switch location {
            case .address(let address): return try info.location(at: address)
            case .fileLine(let file, let line):
                guard let path = try info.sourceFiles().first(where: { $0 == file || $0.hasSuffix("/" + file) }) else {
                    throw DebugInfoError.notFound("no source file \"\(file)\" in the line tables")
                }
                return SourceLocation(file: path, line: line)
            case .line(let line):
                guard let current = currentLocation(session, info) else {
                    throw DebugInfoError.notFound("no current source file: give FILE:LINE or a function")
                }
                return SourceLocation(file: current.file, line: line)
            }
        } catch {
            throw .failed("\(command): \(error)")
        }
    }

    static func requireDWARF(_ session: Session, _ command: String) throws(CommandError) -> DebugInfoFile {
        let info = try session.debugInfo(for: command)
        if let missing = info.missingDebugInfo { throw .unavailable("\(command): \(missing)") }
        return info
    }

    /// Where the previous `list` stopped (a plain `list` goes on from there); reset when the target resumes.
    final class ListCursor: SessionCache {
        var file: String?
        var nextLine = 1
        func invalidate() { file = nil }
        static func of(_ session: Session) -> ListCursor {
            if let cursor = session.extensions["source.list"] as? ListCursor { return cursor }
            let cursor = ListCursor()
            session.extensions["source.list"] = cursor
            return cursor
        }
    }

    static let list = CommandSpec(
        name: "list", aliases: ["l"], group: "source",
        summary: "show source lines around a location (again: the next ten)",
        usage: "list [LOCATION]",
        details: "LOCATION: FUNCTION, FILE:LINE, LINE (in the current file), *ADDR or an address expression.\nWithout one: around the selected frame's line, then on from where the last `list` stopped.\nSource files are read from the paths in the DWARF, or from Sources/… under the working directory.",
        examples: ["list", "list map_page", "list UserPageTables.swift:141", "list *$pc", "list 20"],
        completions: [.location]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let info = try requireDWARF(session, "list")
        let cursor = ListCursor.of(session)
        let file: String
        var first: Int
        var current: Int?
        if let text = args.positionals.first?.text {
            let location = try resolve(try parseLocation(text, session), session, info, command: "list")
            file = location.file
            first = max(1, location.line - 5)
            current = location.line
        } else if let previous = cursor.file {
            file = previous
            first = cursor.nextLine
        } else {
            guard let location = currentLocation(session, info) else {
                throw .failed("list: no current source line: give FUNCTION or FILE:LINE")
            }
            file = location.file
            first = max(1, location.line - 5)
            current = location.line
        }
        guard let lines = SourcePaths.lines(of: file) else { throw .failed("list: cannot read \(file)") }
        guard first <= lines.count else { throw .failed("list: line \(first) is past the end of \(SourcePaths.display(file)) (\(lines.count) lines)") }
        let last = min(lines.count, first + 9)
        cursor.file = file
        cursor.nextLine = last + 1
        let text = (first...last).map { number in
            (number == current ? "=> " : "   ") + "\(number)\t\(lines[number - 1])"
        }.joined(separator: "\n")
        return CommandOutput(blocks: [.text(SourcePaths.display(file)), .text(text)], json: .object([
            ("file", .string(file)), ("first", .int(Int64(first))), ("last", .int(Int64(last))),
            ("current", current.map { .int(Int64($0)) } ?? .null),
            ("lines", .array((first...last).map { .object([("line", .int(Int64($0))), ("text", .string(lines[$0 - 1]))]) })),
        ]))
    }

    /// `info line LOCATION`: the addresses of a line, or the line of an address.
    static func infoLine(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...2)
        let info = try requireDWARF(session, "info line")
        let location: Location
        if args.positionals.count == 2 { location = try parseLocation(args.positionals[1].text, session) } else {
            guard let pc = session.target == nil ? nil : try? DisassemblyCommands.currentPC(session) else {
                throw args.usageError("give a LOCATION (FUNCTION, FILE:LINE or *ADDR)")
            }
            location = .address(pc)
        }
        var ranges: [LineRange] = []
        var message: String?
        var resolved: SourceLocation?
        if case .address = location {} else { resolved = try resolve(location, session, info, command: "info line") }
        do throws(DebugInfoError) {
            switch location {
            case .address(let address):
                ranges = [try info.lineRange(at: address)]
            case .fileLine, .line:
                guard let resolved else { break }
                ranges = try info.lineRanges(file: resolved.file, line: resolved.line)
                if ranges.isEmpty {
                    let next = try? info.addresses(file: resolved.file, line: resolved.line)
                    message = "Line \(resolved.line) of \"\(SourcePaths.display(resolved.file))\" has no code"
                        + (next.map { "; the next line with code is \($0.line)" } ?? "") + "."
                }
            }
        } catch {
            throw .failed("info line: \(error)")
        }
        func label(_ address: UInt64) -> String {
            Hex.format(address) + (session.symbols?.describe(address).map { " <\($0)>" } ?? "")
        }
        let lines = ranges.map { range in
            range.start == range.end
                ? "Line \(range.location.line) of \"\(SourcePaths.display(range.location.file))\" is at address \(label(range.start)) but contains no code."
                : "Line \(range.location.line) of \"\(SourcePaths.display(range.location.file))\" starts at address \(label(range.start)) and ends at \(label(range.end))."
        }
        return CommandOutput(blocks: [.text((message.map { [$0] } ?? lines).joined(separator: "\n"))], json: .object([
            ("ranges", .array(ranges.map { range in
                .object([("file", .string(range.location.file)), ("line", .int(Int64(range.location.line))),
                         ("column", .int(Int64(range.location.column))), ("start", .hex(range.start)), ("end", .hex(range.end)),
                         ("startSymbol", session.symbols?.describe(range.start).map(JSONValue.string) ?? .null)])
            })),
            ("message", message.map(JSONValue.string) ?? .null),
        ]))
    }

    /// `info source`: the current source file.
    static func infoSource(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...1)
        let info = try requireDWARF(session, "info source")
        guard let location = currentLocation(session, info) else {
            throw .failed("info source: no current source file (the target is not stopped in code with line information)")
        }
        let pc = try? DisassemblyCommands.currentPC(session)
        let unit = pc.flatMap { try? info.unitName(at: $0) }
        let count = SourcePaths.lines(of: location.file)?.count
        var fields: [(String, String)] = [("file", SourcePaths.display(location.file)), ("path", location.file),
                                          ("line", String(location.line))]
        if let unit { fields.append(("unit", unit)) }
        fields.append(("lines", count.map(String.init) ?? "(cannot read the file)"))
        return CommandOutput(blocks: [.fields(fields)], json: .object([
            ("file", .string(location.file)), ("line", .int(Int64(location.line))),
            ("unit", unit.map(JSONValue.string) ?? .null), ("lines", count.map { .int(Int64($0)) } ?? .null),
        ]))
    }

    /// `info scope LOCATION`: the parameters and variables visible there, with their DWARF locations.
    static func infoScope(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...2)
        let info = try requireDWARF(session, "info scope")
        let address: UInt64
        if args.positionals.count == 2 {
            address = try BreakpointCommands.codeAddress(args.positionals[1].text, session, command: "info scope").address
        } else {
            guard session.target != nil, let pc = try? DisassemblyCommands.currentPC(session) else {
                throw args.usageError("give a LOCATION (FUNCTION, FILE:LINE or *ADDR)")
            }
            address = pc
        }
        let variables: [ScopeVariable]
        let function: String
        do throws(DebugInfoError) {
            variables = try info.variables(at: address)
            function = try info.function(containing: address)?.name ?? Hex.format(address)
        } catch {
            throw .failed("info scope: \(error)")
        }
        let label = Hex.format(address) + (session.symbols?.describe(address).map { " <\($0)>" } ?? "")
        var lines = variables.isEmpty ? ["Symbol table for \(function) at \(label) contains no locals or parameters."]
            : ["Scope for \(function) at \(label):"]
        for variable in variables {
            lines.append("Symbol \(variable.name) is \(describe(variable))"
                         + (variable.size.map { ", length \($0)." } ?? "."))
        }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))], json: .object([
            ("function", .string(function)), ("address", .hex(address)),
            ("symbols", .array(variables.map { variable in
                .object([("name", .string(variable.name)), ("parameter", .bool(variable.isParameter)),
                         ("location", .array(variable.operations.map(JSONValue.string))),
                         ("locationList", .bool(variable.isLocationList)),
                         ("size", variable.size.map { .int(Int64($0)) } ?? .null)])
            })),
        ]))
    }

    /// A variable's location in gdb's words where they are simple, else its DWARF operations.
    static func describe(_ variable: ScopeVariable) -> String {
        let kind = variable.isParameter ? "a parameter" : "a variable"
        let ops = variable.operations
        let list = variable.isLocationList ? " (a location list: this is where it is at the address)" : ""
        guard let first = ops.first else { return "optimized out" + list }
        let parts = first.split(separator: " ")
        if ops.count == 1, parts.count == 1, first.hasPrefix("DW_OP_reg"), let n = Int(first.dropFirst(9)) {
            return "\(kind) in $\(n == 31 ? "sp" : "x\(n)")" + list
        }
        if ops.count == 1, parts.count == 2, first.hasPrefix("DW_OP_breg"), let n = Int(parts[0].dropFirst(10)) {
            return "\(kind) at $\(n == 31 ? "sp" : "x\(n)") offset \(parts[1])" + list
        }
        if ops.count == 1, parts.count == 2, parts[0] == "DW_OP_fbreg" { return "\(kind) at frame base offset \(parts[1])" + list }
        if ops.count == 1, parts.count == 2, parts[0] == "DW_OP_addr" { return "static storage at address \(parts[1])" + list }
        return "\(kind) with DWARF expression \(variable.locationText)" + list
    }
}
