import Foundation
import MmdbgCore

/// `inject`: arm, list and clear faults; show the trace.
enum InjectCommand {
    static let actionOptions = ["return", "set", "write", "pte", "brk", "skip"]

    static let spec = CommandSpec(
        name: "inject", group: "fault injection",
        summary: "arm a fault: a trigger, a selection and an action (or: inject list|clear [ID]|trace)",
        usage: "inject SYMBOL|ADDR|now [--watch write|read|access [--len N]] [selection…] ACTION | inject list | inject clear [ID] | inject trace",
        details: """
        Trigger: the entry of SYMBOL (a breakpoint), or with --watch an access to ADDR (a watchpoint),
        or `now`: the action applies once, immediately, to the stopped target.
        Selection (eligible hits are those passing --pid and --caller; the rest count eligible hits):
          --pid P  --cpu N  --caller FUNC  --nth N  --every N  --after N  --max K  --probability P --seed S  --hits 1,4
        Action (one): --return V (x0 = V, pc = x30) | --set REG=V[,REG=V] | --write ADDR=V[:SIZE]
          | --pte PID:VA:clear-valid|flip-ap|flip-uxn|redirect=PA | --brk PID=V | --skip
        Faults fire only while the target is driven by `go` or an `expect` that waits (a plain
        `continue` just stops at them). Every firing is logged: `inject trace`.
        """,
        examples: ["inject get_free_page --caller map_table --pid 2 --nth 1 --return 0",
                   "inject map_page --probability 0.3 --seed 7 --return -1", "inject get_free_page --cpu 1 --nth 2 --return 0",
                   "inject mm_pool+0x38 --watch read --len 8 --max 1 --skip",
                   "inject sys_brk --pid 2 --nth 2 --pte 2:0x10000000:clear-valid", "inject now --brk 1=0x10004000", "inject trace"],
        options: [
            OptionSpec("watch", value: "KIND", help: "trigger on a write, read or access of ADDR instead of a function entry"),
            OptionSpec("len", value: "N", help: "bytes watched (default 8)"),
            OptionSpec("pid", value: "PID", help: "only while this task is current"),
            OptionSpec("caller", value: "FUNC", help: "only when x30 lies in FUNC"),
            OptionSpec("cpu", value: "N", help: "only when CPU N (0-based, QEMU's CPU#N) reaches the trigger"),
            OptionSpec("nth", value: "N", help: "only the Nth eligible hit"),
            OptionSpec("every", value: "N", help: "every Nth eligible hit"),
            OptionSpec("after", value: "N", help: "only after N eligible hits"),
            OptionSpec("max", value: "K", help: "at most K firings"),
            OptionSpec("probability", value: "P", help: "fire with probability P (0…1)"),
            OptionSpec("seed", value: "S", help: "seed for --probability (default 0)"),
            OptionSpec("hits", value: "LIST", help: "exactly these eligible hits (replay)"),
            OptionSpec("return", value: "V", help: "force a return: x0 = V, pc = x30"),
            OptionSpec("set", value: "REG=V,…", help: "write registers"),
            OptionSpec("write", value: "ADDR=V[:SIZE]", help: "write SIZE (1,2,4,8) bytes at ADDR"),
            OptionSpec("pte", value: "PID:VA:HOW", help: "corrupt the PTE of PID's VA: clear-valid, flip-ap, flip-uxn, redirect=PA"),
            OptionSpec("brk", value: "PID=V", help: "set a task's brk"),
            OptionSpec("skip", help: "skip the instruction at the stop"),
        ],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        let state = FaultSessionState.of(session)
        if let first = args.positionals.first?.text, ["list", "clear", "trace"].contains(first) {
            return try manage(first, args, session, state)
        }
        try args.expectCount(1...1)
        let spec = try parse(args, session)
        if case .now = spec.trigger {
            let kernel = try FaultSessionState.kernel(session, for: "inject now")
            let hit = try FaultDriver.wrap { () throws(FaultInjectionError) in
                try state.engine.applyNow(spec, kernel: kernel, symbolicate: { session.symbols?.describe($0) })
            }
            session.invalidateCaches()
            state.armedSources.append(spec.source)
            return .message("fault \(hit.fault) applied: \(hit.detail)", json: TraceJSON.hit(hit))
        }
        let target = try session.requireStoppedTarget(for: "inject")
        var pinned = spec
        if let pins = state.pinnedHits {
            pinned.selection.exactHits = pins[state.engine.nextFaultID] ?? []
        }
        let id = try FaultDriver.wrap { () throws(FaultInjectionError) in
            try state.engine.arm(pinned, target: target, elf: (session.symbols as? ELFSymbolTable)?.elf)
        }
        state.armedSources.append(spec.source)
        return .message("fault \(id): \(pinned.description)",
                        json: .object([("fault", .int(Int64(id))), ("trigger", .string(pinned.trigger.description)),
                                       ("selection", .string(pinned.selection.description)),
                                       ("action", .string(pinned.action.description))]))
    }

    // MARK: list / clear / trace

    private static func manage(_ verb: String, _ args: CommandArguments, _ session: Session,
                               _ state: FaultSessionState) throws(CommandError) -> CommandOutput {
        switch verb {
        case "list":
            try args.expectCount(1...1)
            var table = TextTable(columns: ["id", "trigger", "selection", "action", "hits", "fired"].map { TextTable.Column($0) })
            for fault in state.engine.faults {
                table.rows.append(["\(fault.id)", fault.spec.trigger.description, fault.spec.selection.description,
                                   fault.spec.action.description, "\(fault.hits)", "\(fault.fired)"])
            }
            return .table(table, keys: ["id", "trigger", "selection", "action", "hits", "fired"])
        case "clear":
            try args.expectCount(1...2)
            let id = args.positionals.count == 2 ? try args.count(at: 1, in: 1...Int(Int32.max), name: "ID") : nil
            if let id, !state.engine.faults.contains(where: { $0.id == id }) { throw .failed("no fault \(id) (see `inject list`)") }
            let target = try? session.requireStoppedTarget(for: "inject clear")
            state.engine.disarm(id: id, target: target)
            return .message(id.map { "fault \($0) cleared" } ?? "all faults cleared")
        default:
            try args.expectCount(1...1)
            let lines = state.engine.trace.map(\.description)
            return CommandOutput(blocks: [.text(lines.isEmpty ? "no fault has fired" : lines.joined(separator: "\n"))],
                                 json: .object([("trace", .array(state.engine.trace.map(TraceJSON.hit)))]))
        }
    }

    // MARK: parsing

    static func parse(_ args: CommandArguments, _ session: Session) throws(CommandError) -> FaultSpec {
        let targetText = args.positionals[0].text
        if targetText == "now" {
            if args.options["watch"] != nil || args.options["len"] != nil { throw args.usageError("`now` takes no --watch/--len") }
            let selectionOptions = ["pid", "cpu", "caller", "nth", "every", "after", "max", "probability", "seed", "hits"]
            if let given = selectionOptions.first(where: { args.options[$0] != nil }) {
                throw args.usageError("`now` applies once, at once: --\(given) does not apply")
            }
            return FaultSpec(trigger: .now, selection: FaultSelection(), action: try action(args, session), source: sourceLine(args))
        }
        let address = try session.evaluate(targetText)
        let symbol = session.symbols?.address(of: targetText) != nil ? targetText : nil
        let trigger: FaultTrigger
        if let kindText = args.options["watch"] {
            guard let kind = FaultTrigger.WatchKind(rawValue: kindText) else {
                throw args.usageError("--watch wants write, read or access")
            }
            let length = try ValueParsing.count(args.options["len"], option: "len", args) ?? 8
            guard [1, 2, 4, 8].contains(length) else { throw args.usageError("--len must be 1, 2, 4 or 8") }
            trigger = .watch(kind: kind, symbol: symbol, address: address, length: length)
        } else {
            if args.options["len"] != nil { throw args.usageError("--len needs --watch") }
            trigger = .entry(symbol: symbol, address: address)
        }
        return FaultSpec(trigger: trigger, selection: try selection(args, session), action: try action(args, session),
                         source: sourceLine(args))
    }

    static func selection(_ args: CommandArguments, _ session: Session) throws(CommandError) -> FaultSelection {
        var selection = FaultSelection()
        if let pid = args.options["pid"] {
            guard let value = NumberParser.parse(pid) else { throw .badNumber(pid) }
            selection.pid = Int64(bitPattern: value)
        }
        if let cpu = args.options["cpu"] {
            guard let value = NumberParser.parse(cpu), value < 256 else { throw args.usageError("--cpu takes a CPU number 0…255, not \(cpu)") }
            selection.cpu = Int(value)
        }
        if let caller = args.options["caller"] {
            guard session.symbols?.address(of: caller) != nil else { throw .unknownSymbol(caller) }
            selection.caller = caller
        }
        selection.nth = try ValueParsing.count(args.options["nth"], option: "nth", args)
        selection.every = try ValueParsing.count(args.options["every"], option: "every", args)
        selection.atMost = try ValueParsing.count(args.options["max"], option: "max", args)
        if let after = args.options["after"] {
            guard let value = NumberParser.parse(after), value <= 1_000_000_000 else { throw .badNumber(after) }
            selection.after = Int(value)
        }
        if let text = args.options["probability"] {
            guard let p = Double(text), p >= 0, p <= 1 else { throw args.usageError("--probability must be 0…1") }
            selection.probability = p
        }
        if let seed = args.options["seed"] {
            guard let value = NumberParser.parse(seed) else { throw .badNumber(seed) }
            if selection.probability == nil { throw args.usageError("--seed needs --probability") }
            selection.seed = value
        }
        if let hits = args.options["hits"] {
            var list: [Int] = []
            for part in hits.split(separator: ",") {
                guard let value = NumberParser.parse(String(part)), value >= 1, value <= 1_000_000_000 else {
                    throw .badNumber(String(part))
                }
                list.append(Int(value))
            }
            selection.exactHits = list
        }
        return selection
    }

    static func action(_ args: CommandArguments, _ session: Session) throws(CommandError) -> FaultAction {
        let given = actionOptions.filter { args.options[$0] != nil }
        guard given.count == 1 else {
            throw args.usageError(given.isEmpty ? "missing action (--return, --set, --write, --pte, --brk or --skip)"
                                                : "one action per fault (got --\(given.joined(separator: " --")))")
        }
        let text = args.options[given[0]]!
        switch given[0] {
        case "return":
            return .forceReturn(try ValueParsing.value(text, session))
        case "set":
            var writes: [FaultAction.RegisterWrite] = []
            for part in text.split(separator: ",") {
                let (name, value) = try ValueParsing.assignment(String(part), option: "set", args)
                let register = name.hasPrefix("$") ? String(name.dropFirst()) : name
                if let names = session.target?.registerNames,
                   !names.contains(where: { $0.caseInsensitiveCompare(register) == .orderedSame }) {
                    throw .unknownRegister(register)
                }
                writes.append(FaultAction.RegisterWrite(name: register, value: try ValueParsing.value(value, session)))
            }
            return .setRegisters(writes)
        case "write":
            let (addressText, rest) = try ValueParsing.assignment(text, option: "write", args)
            let parts = rest.split(separator: ":", maxSplits: 1).map(String.init)
            let size = parts.count == 2 ? Int(NumberParser.parse(parts[1]) ?? 0) : 8
            guard [1, 2, 4, 8].contains(size) else { throw args.usageError("--write SIZE must be 1, 2, 4 or 8") }
            return .writeMemory(address: try session.evaluate(addressText), value: try ValueParsing.value(parts.first ?? "", session),
                                 size: size)
        case "pte":
            let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, let pid = NumberParser.parse(parts[0]) else {
                throw args.usageError("--pte wants PID:VA:clear-valid|flip-ap|flip-uxn|redirect=PA")
            }
            let va = try session.evaluate(parts[1])
            let corruption: PTECorruption
            switch parts[2] {
            case "clear-valid": corruption = .clearValid
            case "flip-ap": corruption = .flipAP
            case "flip-uxn": corruption = .flipUXN
            case let how where how.hasPrefix("redirect="):
                corruption = .redirect(physicalAddress: try session.evaluate(String(how.dropFirst("redirect=".count))))
            default: throw args.usageError("--pte HOW must be clear-valid, flip-ap, flip-uxn or redirect=PA")
            }
            return .corruptPTE(pid: Int64(bitPattern: pid), virtualAddress: va, corruption)
        case "brk":
            let (pidText, valueText) = try ValueParsing.assignment(text, option: "brk", args)
            guard let pid = NumberParser.parse(pidText) else { throw .badNumber(pidText) }
            return .setBrk(pid: Int64(bitPattern: pid), value: try ValueParsing.value(valueText, session))
        default:
            return .skipInstruction
        }
    }

    /// The line that recreates this fault (a trace stores it).
    static func sourceLine(_ args: CommandArguments) -> String {
        var words = ["inject"] + args.positionals.map(\.text)
        for name in args.options.keys.sorted() where name != "hits" {
            let value = args.options[name]!
            words.append(value.isEmpty ? "--\(name)" : "--\(name)=\(value)")
        }
        return words.joined(separator: " ")
    }
}
