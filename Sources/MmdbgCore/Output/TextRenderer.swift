/// Renders command results as aligned text. Colour (ANSI) only when asked,
/// which the executable does only when stdout is a terminal.
///
/// Much of what is shown comes from the guest (strings, task names, the log
/// ring): control characters in it are shown escaped (`\x1b`), so guest memory
/// can never drive the user's terminal or fake output lines.
public struct TextRenderer: Sendable {
    public var colour: Bool
    public init(colour: Bool) { self.colour = colour }

    /// The text for stdout of a successful result, or nil for an error.
    public func render(_ output: CommandOutput) -> String {
        output.blocks.map(render(block:)).filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// The one error line (for stderr); `atPrompt` adds what to type next (`attach`).
    public func render(error: CommandError, atPrompt: Bool = false) -> String {
        paint("error: ", code: "31;1") + error.description + (atPrompt ? error.promptHint.map { "; \($0)" } ?? "" : "")
    }

    public func render(block: OutputBlock) -> String {
        switch block {
        case .text(let text): return TextRenderer.printable(text, keepLineBreaks: true)
        case .fields(let fields):
            let width = fields.map { $0.0.count }.max() ?? 0
            return fields.map { name, value in
                paint(pad(name + ":", to: width + 1, .left), code: "1") + " " + TextRenderer.printable(value, keepLineBreaks: true)
            }.joined(separator: "\n")
        case .table(let table): return render(table: table)
        }
    }

    public func render(table: TextTable) -> String {
        let columnCount = table.columns.count
        var widths = table.columns.map { $0.title.count }
        let rows = table.rows.map { $0.map { TextRenderer.printable($0, keepLineBreaks: false) } }
        for row in rows {
            for (i, cell) in row.prefix(columnCount).enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for i in 0..<columnCount {
                let cell = i < cells.count ? cells[i] : ""
                // The last left-aligned column is not padded: no trailing blanks.
                if i == columnCount - 1 && table.columns[i].alignment == .left {
                    parts.append(cell)
                } else {
                    parts.append(pad(cell, to: widths[i], table.columns[i].alignment))
                }
            }
            let joined = parts.joined(separator: "  ")
            return String(joined.reversed().drop { $0 == " " }.reversed())
        }
        var lines = [paint(line(table.columns.map(\.title)), code: "1")]
        lines += rows.map(line)
        if table.rows.isEmpty { lines.append("(none)") }
        return lines.joined(separator: "\n")
    }

    /// `text` with C0/C1 control characters and DEL escaped as `\xNN`; tabs and
    /// line breaks (`\n`, `\r\n`) are kept when `keepLineBreaks` (a table cell keeps none).
    public static func printable(_ text: String, keepLineBreaks: Bool) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { isControl($0) }) else { return text }
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            let keep = keepLineBreaks && (scalar == "\n" || scalar == "\t"
                || (scalar == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n"))
            if keep || !isControl(scalar) {
                out.append(scalar)
            } else {
                let hex = String(scalar.value, radix: 16)
                out.append(contentsOf: ("\\x" + (hex.count < 2 ? "0" + hex : hex)).unicodeScalars)
            }
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private func pad(_ s: String, to width: Int, _ alignment: TextTable.Alignment) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return alignment == .left ? s + fill : fill + s
    }

    private func paint(_ s: String, code: String) -> String {
        colour ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}
