import Foundation

/// `last-write` and `pte-history`: the questions time travel answers, over a QEMU replay.
enum TimeTravelCommands {
    static var all: [CommandSpec] { [lastWrite, pteHistory] }

    static let lastWrite = CommandSpec(
        name: "last-write", group: "time travel",
        summary: "go back to the last instruction that wrote LEN bytes (default 8) at ADDR, and say who wrote what",
        usage: "last-write ADDR [LEN] [--phys PA] [--timeout SECONDS]",
        details: """
        A write watchpoint and a reverse-continue: the target stays stopped at the writing instruction
        (before the store: AArch64 watchpoints stop before the access). Reports the icount, PC, function,
        source line, task, and the old and new values. Watchpoints match virtual addresses: --phys PA
        watches the kernel's linear-map alias of a physical address. Nothing written since the start of
        the recording: says so and returns to where it started.
        """ + "\n" + ReverseCommands.replayOnly,
        examples: ["last-write mm_tasks+0x40", "last-write 0xffff000040a01000 8", "last-write --phys 0x40a01000"],
        options: [OptionSpec("phys", value: "PA", help: "a physical address; its linear-map alias is watched"),
                  RunControlCommands.timeoutOption],
        completions: [.address, .none]
    ) { args, session throws(CommandError) in
        let address: UInt64
        if let phys = args.options["phys"] {
            try args.expectCount(0...1)
            let pa = try session.evaluate(phys)
            guard pa < 1 << 48 else { throw args.usageError("--phys \(Hex.format(pa)) is not a physical address") }
            address = Session.linearMapBase &+ pa
        } else {
            try args.expectCount(1...2)
            address = try session.evaluate(args.positionals[0].text)
        }
        let lengthIndex = args.options["phys"] != nil ? 0 : 1
        let length = args.positionals.count > lengthIndex ? try args.count(at: lengthIndex, in: 1...4096, name: "LEN") : 8
        guard UInt64(length - 1) <= UInt64.max - address else {
            throw args.usageError("\(Hex.format(address)) + \(length) bytes wraps past 2^64")
        }
        let timeout = try RunControlCommands.timeoutValue(args, session)
        let answer = try session.lastWrite(address: address, length: length, timeout: timeout)
        return CommandOutput(blocks: answer.text.map { .text($0) }, json: answer.json)
    }

    static let pteHistory = CommandSpec(
        name: "pte-history", group: "time travel",
        summary: "every change over the whole recording to each descriptor on VA's walk, with who wrote it and when",
        usage: "pte-history VA [--pid P] [--timeout SECONDS]",
        details: """
        Replays the recording from its start to the kernel's power-off with a write watchpoint on every
        descriptor of VA's walk (through task P's tables, else the CPU's, rooted as they are now). When a
        table descriptor changes, the watchpoints follow the new table page. Each change: icount, level,
        descriptor address, old and new value, writer (function, source line) and task. The target
        returns to where it was.
        """ + "\n" + ReverseCommands.replayOnly,
        examples: ["pte-history 0x10001000 --pid 2", "pte-history 0x400000 --pid 1 --timeout 300"],
        options: [OptionSpec("pid", value: "P", help: "walk task P's tables (default: the CPU's)", completion: .taskID),
                  RunControlCommands.timeoutOption],
        completions: [.address]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let address = try session.evaluate(args.positionals[0].text)
        let pid = try args.countOption("pid", in: 0...1_000_000)
        let timeout = try args.secondsOption("timeout") ?? (session.interactive ? nil : max(session.runTimeout, 120))
        let history = try session.pteHistory(address: address, pid: pid, timeout: timeout)
        let head = "\(history.changes.count) change\(history.changes.count == 1 ? "" : "s") to the walk of \(Hex.format(address))"
            + (pid.map { " (pid \($0))" } ?? "")
        return CommandOutput(blocks: [.text(head), .table(history.table)], json: history.json)
    }
}
