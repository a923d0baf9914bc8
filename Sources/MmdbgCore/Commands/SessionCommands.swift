import Foundation

/// `help`, `quit`, `attach`, `detach`, `status`.
enum SessionCommands {
    static var all: [CommandSpec] { [help, quit, attach, disconnect, status, show] }

    static let help = CommandSpec(
        name: "help", aliases: ["h", "?"], group: "session",
        summary: "list commands, or show one command's usage, options and examples",
        usage: "help [COMMAND]",
        examples: ["help", "help x"],
        completions: [.command]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        guard let name = args.positionals.first?.text else { return overview(session.registry) }
        let spec = try session.registry.resolve(name)
        var lines = ["\(spec.usage)", "  \(spec.summary)"]
        if !spec.aliases.isEmpty { lines.append("  aliases: \(spec.aliases.joined(separator: ", "))") }
        if !spec.details.isEmpty { lines += spec.details.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 } }
        if !spec.options.isEmpty {
            lines.append("options:")
            let rendered = spec.options.map { ("--" + $0.name + ($0.valueName.map { " " + $0 } ?? ""), $0.help) }
            let width = rendered.map { $0.0.count }.max() ?? 0
            lines += rendered.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
        }
        if !spec.examples.isEmpty {
            lines.append("examples:")
            lines += spec.examples.map { "  " + $0 }
        }
        let json: JSONValue = .object([
            ("name", .string(spec.name)), ("aliases", .array(spec.aliases.map(JSONValue.string))),
            ("usage", .string(spec.usage)), ("summary", .string(spec.summary)), ("details", .string(spec.details)),
            ("options", .array(spec.options.map { .object([("name", .string($0.name)),
                                                           ("value", $0.valueName.map(JSONValue.string) ?? .null),
                                                           ("help", .string($0.help))]) })),
            ("examples", .array(spec.examples.map(JSONValue.string))),
        ])
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))], json: json)
    }

    private static func overview(_ registry: CommandRegistry) -> CommandOutput {
        var groups: [String] = []
        for spec in registry.commands where !groups.contains(spec.group) { groups.append(spec.group) }
        // One table so every summary lines up; the group is named on its first row.
        var table = TextTable(columns: [.init("GROUP"), .init("COMMAND"), .init("SUMMARY")])
        var json: [JSONValue] = []
        for group in groups {
            for (i, spec) in registry.commands.filter({ $0.group == group }).enumerated() {
                let names = ([spec.name] + spec.aliases.filter { $0.count <= 2 }).joined(separator: ", ")
                table.rows.append([i == 0 ? group : "", names, spec.summary])
                json.append(.object([("name", .string(spec.name)), ("group", .string(group)),
                                     ("usage", .string(spec.usage)), ("summary", .string(spec.summary))]))
            }
        }
        return CommandOutput(blocks: [.table(table), .text("`help COMMAND` shows usage, options and examples.")],
                             json: .object([("commands", .array(json))]))
    }

    static let quit = CommandSpec(
        name: "quit", aliases: ["q", "exit"], group: "session",
        summary: "leave mmdbg: kill the QEMU it launched, or detach from the one it attached to",
        usage: "quit"
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let what = session.ownership == .launched ? "killing the QEMU mmdbg launched" : "detaching (the target keeps running)"
        session.quitRequested = true
        return .message(what, json: .object([("action", .string(session.ownership == .launched ? "kill" : "detach"))]))
    }

    static let disconnect = CommandSpec(
        name: "disconnect", group: "session",
        summary: "close the connection and leave the target as it is (QEMU keeps a stopped guest stopped)",
        usage: "disconnect",
        details: "Unlike `quit` on an attached target, which detaches (QEMU then resumes the guest), this\ncloses the socket only, as gdb's `disconnect` does: the next debugger finds the guest where\nthis one left it. `attach` connects again. A QEMU mmdbg launched is still killed by `quit`.",
        examples: ["disconnect", "attach"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        _ = try session.requireStoppedTarget(for: "disconnect")
        session.connection.disconnect()
        return .message("disconnected from \(session.address ?? "?") (the target is left as it is)",
                        json: .object([("address", session.address.map(JSONValue.string) ?? .null),
                                       ("target", session.state.jsonValue)]))
    }

    static let attach = CommandSpec(
        name: "attach", group: "session",
        summary: "attach to a gdbstub, or re-attach to the last one after a lost connection",
        usage: "attach [HOST:PORT | /path/to/socket]",
        examples: ["attach", "attach 127.0.0.1:1234", "attach /tmp/qemu-gdb.sock"],
        completions: [.file]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        if let address = args.positionals.first?.text {
            try session.attach(to: address)
        } else {
            try session.reattach()
        }
        return .message("attached to \(session.address ?? "?"): \(session.state.summary)",
                        json: .object([("address", .string(session.address ?? "")), ("target", session.state.jsonValue)]))
    }

    static let status = CommandSpec(
        name: "status", aliases: ["info-target"], group: "session",
        summary: "show the target's state, the gdbstub address and who owns QEMU",
        usage: "status"
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        var fields: [(String, String)] = [
            ("state", session.state.summary),
            ("gdbstub", session.address ?? "none"),
            ("qemu", session.ownership == .launched ? "launched by mmdbg (pid \(session.launchedQEMU?.pid ?? 0))" : "attached"),
            ("symbols", session.symbols?.source ?? "none"),
            ("memory", session.target?.memoryPath ?? "none (not attached)"),
        ]
        if let qemu = session.launchedQEMU { fields.append(("qemu running", qemu.isRunning ? "yes" : "no")) }
        let json: JSONValue = .object([
            ("target", session.state.jsonValue), ("address", session.address.map(JSONValue.string) ?? .null),
            ("ownership", .string(session.ownership == .launched ? "launched" : "attached")),
            ("qemuPid", session.launchedQEMU.map { .int(Int64($0.pid)) } ?? .null),
            ("symbols", session.symbols.map { .string($0.source) } ?? .null),
            ("memory", session.target.map { .string($0.memoryPath) } ?? .null),
        ])
        return CommandOutput(blocks: [.fields(fields)], json: json)
    }

    static let show = CommandSpec(
        name: "show", group: "session",
        summary: "show session facts: `show last-error` prints the last protocol error with the packets before it",
        usage: "show last-error",
        details: "The ring keeps the last 32 packets exchanged with the stub (`->` sent, `<-` received),\nclipped to 60 bytes each; it is taken when a protocol call fails and kept after the\nconnection is gone.",
        examples: ["show last-error"],
        completions: [.keywords(["last-error"])]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        guard args.positionals[0].text == "last-error" else {
            throw args.usageError("unknown setting \"\(CommandError.clip(args.positionals[0].text))\" (known: last-error)")
        }
        guard let record = session.lastProtocolError else {
            return .message("no protocol error in this session", json: .object([("error", .null)]))
        }
        let text = (["\(record.operation): \(record.message)", "recent packets:"] + record.recentPackets.map { "  " + $0 })
            .joined(separator: "\n")
        return .message(text, json: .object([("error", .string(record.message)), ("operation", .string(record.operation)),
                                             ("recentPackets", .array(record.recentPackets.map(JSONValue.string)))]))
    }
}
