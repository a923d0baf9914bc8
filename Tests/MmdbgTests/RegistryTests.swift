import Foundation
import Testing
@testable import MmdbgCore

@Suite("Command registry and terminal-free execution")
struct RegistryTests {
    @Test func lookupByNameAliasAndUniquePrefix() throws {
        let registry = BuiltinCommands.makeRegistry()
        #expect(registry.lookup("continue")?.name == "continue")
        #expect(registry.lookup("c")?.name == "continue")
        #expect(registry.lookup("cont")?.name == "continue")
        #expect(registry.lookup("snap")?.name == "snapshot")
        #expect(registry.lookup("s")?.name == "step")
        #expect(registry.lookup("zzz") == nil)
    }

    @Test func unknownCommandSuggestsTheClosestName() {
        let registry = BuiltinCommands.makeRegistry()
        #expect(throws: CommandError.unknownCommand("contiue", suggestion: "continue")) { try registry.resolve("contiue") }
        #expect(throws: CommandError.unknownCommand("ta", suggestion: "task` or `tasks")) { try registry.resolve("ta") }
    }

    @Test func everyIssueCommandIsRegisteredWithUsageAndHelp() {
        let registry = BuiltinCommands.makeRegistry()
        let required = ["regs", "x", "sym", "addr", "break", "tbreak", "watch", "rwatch", "awatch", "delete", "info",
                        "continue", "step", "stepi", "finish", "interrupt", "tasks", "task", "pt", "vtop", "snapshot",
                        "check", "log", "uart", "monitor", "quit", "help", "attach", "show"]
        for name in required {
            let spec = registry.lookup(name)
            #expect(spec?.name == name, "\(name) is registered")
            #expect(spec?.usage.hasPrefix(name) == true, "\(name) has a usage line")
            #expect(spec?.summary.isEmpty == false, "\(name) has a summary")
        }
    }

    @Test func extensionsAddAndReplaceCommandsByName() throws {
        let registry = BuiltinCommands.makeRegistry()
        let session = Session(registry: registry)
        let before = session.execute(line: "inject map_page --nth 2")
        #expect(before.error == .unknownCommand("inject", suggestion: nil))
        registry.register(CommandSpec(name: "inject", group: "fault injection", summary: "arm a fault", usage: "inject SYMBOL",
                                      options: [OptionSpec("nth", value: "N", help: "the nth hit")]) { args, _ throws(CommandError) in
            .message("armed \(args.positionals[0].text) at hit \(args.options["nth"] ?? "?")")
        })
        let after = session.execute(line: "inject map_page --nth 2")
        #expect(after.succeeded)
        #expect(try after.outcome.get().blocks == [.text("armed map_page at hit 2")])
        #expect(registry.commands.filter { $0.name == "inject" }.count == 1)
    }

    @Test func optionParsingAgainstTheSpec() throws {
        let session = Session(registry: BuiltinCommands.makeRegistry())
        #expect(session.execute(line: "x 0x10 --bogus").error == .usage("unknown option --bogus (known: --phys)",
                                                                          usage: "x ADDR [COUNT] [/b|h|w|g|s] [--phys]"))
        #expect(session.execute(line: "vtop 0x10 --pid").error == .usage("--pid needs a value", usage: "vtop VA [--pid PID]"))
        #expect(session.execute(line: "x 0x10 --phys=1").error == .usage("--phys takes no value",
                                                                           usage: "x ADDR [COUNT] [/b|h|w|g|s] [--phys]"))
        #expect(session.execute(line: "x").error == .usage("missing argument", usage: "x ADDR [COUNT] [/b|h|w|g|s] [--phys]"))
    }

    @Test func executeNeverThrowsAndKeepsJSONShape() throws {
        let session = Session(registry: BuiltinCommands.makeRegistry())
        let ok = session.execute(line: "help x")
        let okJSON = try JSONSerialization.jsonObject(with: Data(ok.jsonDocument.serialized().utf8)) as? [String: Any]
        #expect(okJSON?["ok"] as? Bool == true)
        #expect(okJSON?["command"] as? String == "help")
        #expect((okJSON?["result"] as? [String: Any])?["usage"] as? String == "x ADDR [COUNT] [/b|h|w|g|s] [--phys]")
        let bad = session.execute(line: "bogus 1 2")
        let badJSON = try JSONSerialization.jsonObject(with: Data(bad.jsonDocument.serialized().utf8)) as? [String: Any]
        #expect(badJSON?["ok"] as? Bool == false)
        #expect(badJSON?["error"] as? String == #"unknown command "bogus" (type `help` for the list)"#)
        #expect(badJSON?["command"] is NSNull)
    }

    @Test func targetCommandsBeforeAttachSayHowToAttach() {
        let session = Session(registry: BuiltinCommands.makeRegistry())
        #expect(session.execute(line: "regs").error == .unavailable("regs: not attached to a target (use `attach HOST:PORT`)"))
        #expect(session.execute(line: "quit").endsSession)
    }

    @Test func tableRenderingIsAligned() {
        let renderer = TextRenderer(colour: false)
        let table = TextTable(columns: [.init("ID", .right), .init("NAME")], rows: [["1", "init"], ["12", "sh"]])
        #expect(renderer.render(table: table) == "ID  NAME\n 1  init\n12  sh")
        #expect(TextRenderer(colour: true).render(table: table).contains("\u{1B}[1m"))
    }

    @Test func jsonEscapesAndKeepsKeyOrder() {
        let value = JSONValue.object([("b", .string("a\"\n\u{01}")), ("a", .hex(0xFFFF_0000_0000_0000)), ("n", .null)])
        #expect(value.serialized() == #"{"b":"a\"\n\u0001","a":"0xffff000000000000","n":null}"#)
    }
}

@Suite("Completion without a terminal")
struct CompletionTests {
    @Test func commandsOptionsKeywordsAndPositions() {
        let session = Session(registry: BuiltinCommands.makeRegistry())
        #expect(CompletionEngine.candidates(for: "st", lineBeforeWord: "", session: session) == ["status", "step", "stepi"])
        #expect(CompletionEngine.candidates(for: "--p", lineBeforeWord: "x 0x10 ", session: session) == ["--phys"])
        #expect(CompletionEngine.candidates(for: "b", lineBeforeWord: "info ", session: session) == ["breakpoints", "breaks"])
        #expect(CompletionEngine.candidates(for: "$x3", lineBeforeWord: "x ", session: session) == ["$x3", "$x30"])
        // The second positional of `x` is a count: nothing to offer.
        #expect(CompletionEngine.candidates(for: "", lineBeforeWord: "x $sp ", session: session) == [])
        // An option's value completes by the option's kind; the format does not count as a positional.
        #expect(CompletionEngine.candidates(for: "$p", lineBeforeWord: "pt --from ", session: session) == ["$pc"])
        #expect(CompletionEngine.candidates(for: "$s", lineBeforeWord: "x /g ", session: session) == ["$sp"])
        #expect(CompletionEngine.candidates(for: "", lineBeforeWord: "attach ", session: session) == nil, "file names")
        #expect(CompletionEngine.candidates(for: "x", lineBeforeWord: "frobnicate ", session: session) == [])
        // `pt` takes a keyword or a task id (the ids need a stopped kernel: tested through the terminal).
        #expect(CompletionEngine.candidates(for: "", lineBeforeWord: "pt ", session: session) == ["diff", "kernel"])
        #expect(CompletionEngine.candidates(for: "", lineBeforeWord: "info ", session: session)
                == ["address", "args", "breakpoints", "breaks", "display", "frame", "layout", "line", "locals", "scope", "source", "symbol", "watchpoints"])
    }
}

