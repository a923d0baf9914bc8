import Foundation

/// `uart` (captured serial output) and `monitor` (QEMU monitor commands).
enum ConsoleCommands {
    static var all: [CommandSpec] { [uart, rawMonitor] }

    /// `monitor` forwards its whole line (options included) to QEMU.
    static var rawMonitor: CommandSpec { var spec = monitor; spec.rawArguments = true; return spec }

    static let uart = CommandSpec(
        name: "uart", aliases: ["serial"], group: "console",
        summary: "show the serial output captured from the QEMU mmdbg launched",
        usage: "uart [--last N]",
        examples: ["uart", "uart --last 5"],
        options: [OptionSpec("last", value: "N", help: "only the last N lines")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let last = try args.countOption("last", in: 1...Int.max)
        guard let qemu = session.launchedQEMU else {
            throw .unavailable("uart: serial output is captured only when mmdbg launches QEMU (not after `attach`)")
        }
        var lines = qemu.outputText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let last { lines = Array(lines.suffix(last)) }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))],
                             json: .object([("lines", .array(lines.map(JSONValue.string))),
                                            ("qemuRunning", .bool(qemu.isRunning))]))
    }

    static let monitor = CommandSpec(
        name: "monitor", aliases: ["mon"], group: "console",
        summary: "run a QEMU monitor command through the gdbstub",
        usage: "monitor COMMAND…",
        examples: ["monitor info registers", "monitor gva2gpa 0xffff000040200000", "monitor xp /4gx 0x40200000"],
        completions: [.keywords(["info", "gva2gpa", "xp", "x", "info registers", "info mtree", "system_reset"])]
    ) { args, session throws(CommandError) in
        guard !args.positionals.isEmpty else { throw args.usageError("missing monitor command") }
        let command = args.rest(from: 0)
        let target = try session.requireTarget(for: "monitor")
        let text = try target.monitor(command)
        if let rejection = qemuRejection(in: text) { throw .failed("monitor: QEMU rejected \"\(CommandError.clip(command))\": \(rejection)") }
        let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
        return CommandOutput(blocks: [.text(trimmed)], json: .object([("command", .string(command)), ("output", .string(text))]))
    }

    /// QEMU answers a monitor command it rejects with ordinary text, not a
    /// protocol error: `unknown command: 'x'`, or a parse error followed by
    /// `Try "help x" for more information`. Returns that text on one line, or nil.
    static func qemuRejection(in output: String) -> String? {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let first = lines.first else { return nil }
        let rejected = first.hasPrefix("unknown command:")
            || lines.contains { $0.hasPrefix("Try \"help") && $0.hasSuffix("for more information") }
        return rejected ? lines.joined(separator: "; ") : nil
    }
}
