/// `tasks`, `task`, `pt`, `vtop`, `snapshot`, `check`, `log`: views of the
/// kernel through Inspect (see `KernelViews`).
enum KernelViewCommands {
    static var all: [CommandSpec] { [tasks, task, pt, vtop, snapshot, check, log] }

    static let tasks = CommandSpec(
        name: "tasks", aliases: ["ps"], group: "kernel",
        summary: "list the kernel's tasks: pid, state, parent, pgd, pages, brk",
        usage: "tasks",
        examples: ["tasks"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        return try session.requireKernelViews(for: "tasks").tasks()
    }

    static let task = CommandSpec(
        name: "task", group: "kernel",
        summary: "show one task: context, mm, kernel and user pages",
        usage: "task PID",
        examples: ["task 1"],
        completions: [.taskID]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let pid = try pidValue(args.positionals[0].text, args)
        return try session.requireKernelViews(for: "task").task(pid: pid)
    }

    static let pt = CommandSpec(
        name: "pt", group: "kernel",
        summary: "dump translation tables as runs of equal attributes, or diff them",
        usage: "pt [kernel|PID] [--user] [--kernel-only] [--writable] [--exec] [--from VA] [--to VA]  |  pt diff [SNAPSHOT]",
        details: "Without a space argument: what the CPU uses now (TTBR0_EL1 + TTBR1_EL1).\n`pt diff` compares with the state at the previous stop, or with a `snapshot` by name.",
        examples: ["pt", "pt kernel", "pt 1 --user --writable", "pt --from 0x400000 --to 0x2000000",
                   "snapshot before", "pt diff before"],
        options: [OptionSpec("user", help: "only EL0-accessible mappings"),
                  OptionSpec("kernel-only", help: "only mappings EL0 cannot access"),
                  OptionSpec("writable", help: "only writable mappings"),
                  OptionSpec("exec", help: "only mappings executable at EL0 or EL1"),
                  OptionSpec("from", value: "VA", help: "start of the VA range", completion: .address),
                  OptionSpec("to", value: "VA", help: "end of the VA range (exclusive)", completion: .address)],
        completions: [.oneOf([.keywords(["kernel", "diff"]), .taskID]), .none]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...2)
        if args.positionals.first?.text == "diff" {
            let name = args.positionals.count > 1 ? args.positionals[1].text : nil
            return try session.requireKernelViews(for: "pt diff").diff(since: name)
        }
        try args.expectCount(0...1)
        var space = AddressSpaceSelector.current
        if let text = args.positionals.first?.text {
            space = text == "kernel" ? .kernel : .task(try pidValue(text, args))
        }
        var filters = PageTableFilters()
        filters.userOnly = args.flag("user")
        filters.kernelOnly = args.flag("kernel-only")
        if filters.userOnly && filters.kernelOnly { throw args.usageError("--user and --kernel-only exclude each other") }
        filters.writable = args.flag("writable")
        filters.executable = args.flag("exec")
        if let from = args.options["from"] { filters.from = try session.evaluate(from) }
        if let to = args.options["to"] { filters.to = try session.evaluate(to) }
        // --to is exclusive: `--to 0` is an empty range, not (wrapping) the whole address space.
        if let to = filters.to, (filters.from ?? 0) >= to {
            throw args.usageError(filters.from == nil ? "--to must be above 0 (it is exclusive)"
                                  : "--from must be below --to (--to is exclusive)")
        }
        let views = try session.requireKernelViews(for: space.isTask ? "pt PID" : "pt")
        return try session.withProgress("walking translation tables") { () throws(CommandError) in
            try views.pageTables(space, filters: filters)
        }
    }

    static let vtop = CommandSpec(
        name: "vtop", group: "kernel",
        summary: "translate a virtual address, showing every level's descriptor",
        usage: "vtop VA [--pid PID]",
        details: "Uses the CPU's TTBRs, or the task's own tables with --pid.",
        examples: ["vtop $pc", "vtop 0x400000 --pid 1", "vtop mm_tasks"],
        options: [OptionSpec("pid", value: "PID", help: "walk this task's tables", completion: .taskID)],
        completions: [.address]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let address = try session.evaluate(args.positionals[0].text)
        let pid = try args.options["pid"].map { text throws(CommandError) in try pidValue(text, args) }
        return try session.requireKernelViews(for: pid == nil ? "vtop" : "vtop --pid").translate(address, pid: pid)
    }

    static let snapshot = CommandSpec(
        name: "snapshot", group: "kernel",
        summary: "remember the current translation tables under NAME for `pt diff NAME`",
        usage: "snapshot NAME",
        examples: ["snapshot before-fork"]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let name = args.positionals[0].text
        // Names are typed again in `pt diff NAME` and printed in its output: short and plain.
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw args.usageError("a snapshot name is 1…64 letters, digits, `.`, `_` or `-`")
        }
        return try session.requireKernelViews(for: "snapshot").snapshot(name: name)
    }

    static let check = CommandSpec(
        name: "check", group: "kernel",
        summary: "run the consistency checks (page ownership, pool counters, PTEs); one line per finding",
        usage: "check",
        examples: ["check"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let views = try session.requireKernelViews(for: "check")
        return try session.withProgress("checking kernel consistency") { () throws(CommandError) in try views.check() }
    }

    static let log = CommandSpec(
        name: "log", aliases: ["dmesg"], group: "kernel",
        summary: "show the kernel log ring (like dmesg)",
        usage: "log [--last N]",
        examples: ["log", "log --last 20"],
        options: [OptionSpec("last", value: "N", help: "only the last N lines")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let last = try args.countOption("last", in: 1...Int.max)
        return try session.requireKernelViews(for: "log").log(last: last)
    }

    static func pidValue(_ text: String, _ args: CommandArguments) throws(CommandError) -> Int {
        guard let value = NumberParser.parse(text) else {
            throw NumberParser.looksNumeric(text) ? .badNumber(text) : args.usageError("\"\(text)\" is not a task id")
        }
        guard value < 1 << 31 else { throw .badNumber(text) }
        return Int(value)
    }

    /// `info layout`: each structure the kernel views decode, KernelABI against the ELF's C DWARF.
    static func infoLayout(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...1)
        _ = try session.debugInfo(for: "info layout")
        guard let check = session.kernelLayoutCheck() else {
            throw .unavailable("info layout: the ELF has no DWARF to check the layout against (build it with -g)")
        }
        var table = TextTable(columns: [.init("STRUCT"), .init("STATUS"), .init("VIEWS")])
        var notes: [String] = []
        var rows: [JSONValue] = []
        for result in check.results {
            let status: String
            var fields: [(String, JSONValue)] = [("struct", .string(result.structName))]
            switch result.status {
            case .matches:
                status = "matches"
                fields.append(("status", .string("matches")))
            case .mismatched(let lines):
                status = "DIFFERS: views disabled"
                notes += lines
                fields.append(("status", .string("mismatched")))
                fields.append(("differences", .array(lines.map(JSONValue.string))))
            case .unchecked(let why):
                status = "unchecked"
                notes.append("struct \(result.structName): unchecked: \(why)")
                fields.append(("status", .string("unchecked")))
                fields.append(("reason", .string(why)))
            }
            fields.append(("views", .array(result.views.map(JSONValue.string))))
            table.rows.append([result.structName, status, result.views.joined(separator: ", ")])
            rows.append(.object(fields))
        }
        return CommandOutput(blocks: [.table(table)] + (notes.isEmpty ? [] : [.text(notes.joined(separator: "\n"))]),
                             json: .object([("structs", .array(rows))]))
    }
}
