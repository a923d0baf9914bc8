import DebugInfo
@testable import MmdbgCore
import SeededRandom
import Testing

/// The expression language of `print`/`ptype`/`whatis` and gdb-style value formatting,
/// against a small in-memory target with hand-built DWARF-like types.
@Suite("C expressions and value formatting")
struct TypedExpressionTests {
    /// `struct task { int64_t state; int64_t pid; char name[16]; struct task *next; unsigned flag : 3; }`,
    /// `struct task tasks[4]` at 0x1000, `struct task *current` at 0x2000 (= &tasks[1]).
    final class FakeTarget: TypedDataContext {
        var memory: [UInt64: UInt8] = [:]
        let int64 = DebugType(kind: .typedef, name: "int64_t", size: 8, target: .integer("long", size: 8, signed: true))
        let char = DebugType(kind: .base, name: "char", size: 1, encoding: .unsignedChar)
        let task: DebugType
        let tasks: DebugType
        let current: DebugType

        init() {
            task = DebugType(kind: .structure, name: "task", size: 48)
            let name = DebugType(kind: .array, size: 16, target: char, count: 16)
            let unsigned = DebugType.integer("unsigned int", size: 4, signed: false)
            task.members = [.init(name: "state", type: int64, offset: 0), .init(name: "pid", type: int64, offset: 8),
                            .init(name: "name", type: name, offset: 16), .init(name: "next", type: .pointer(to: task), offset: 32),
                            .init(name: "flag", type: unsigned, offset: 40, bitSize: 3, bitOffset: 2)]
            tasks = DebugType(kind: .array, size: 48 * 4, target: task, count: 4)
            current = .pointer(to: task)
            for index in 0..<4 {
                let base = 0x1000 + UInt64(index) * 48
                store(UInt64(index == 1 ? 2 : 0), at: base)
                store(UInt64(index), at: base + 8)
                for (i, byte) in "init".utf8.enumerated() where index == 1 { memory[base + 16 + UInt64(i)] = byte }
                store(index == 1 ? 0x1000 : 0, at: base + 32)
                store(UInt64(0b10100), at: base + 40)  // flag = 0b101 at bit 2
            }
            store(0x1000 + 48, at: 0x2000)
        }

        func store(_ value: UInt64, at address: UInt64) {
            for i in 0..<8 { memory[address + UInt64(i)] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }

        func readMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
            guard address >= 0x1000, address &+ UInt64(count) <= 0x3000 else { throw .target("cannot read \(Hex.format(address))") }
            return (0..<count).map { memory[address + UInt64($0)] ?? 0 }
        }
        func registerValue(_ name: String) throws(CommandError) -> UInt64 {
            guard name == "x0" else { throw .unknownRegister(name) }
            return 0x1000 + 96
        }
        func globalVariable(_ name: String) throws(CommandError) -> GlobalVariable? {
            switch name {
            case "tasks": return GlobalVariable(name: name, address: 0x1000, type: tasks)
            case "current": return GlobalVariable(name: name, address: 0x2000, type: current)
            default: return nil
            }
        }
        func symbol(_ name: String) throws(CommandError) -> (address: UInt64, isData: Bool) {
            guard name == "start" else { throw .unknownSymbol(name) }
            return (0x1000, false)
        }
        func type(named name: String) throws(CommandError) -> DebugType? {
            switch name {
            case "struct task": return task
            case "int64_t": return int64
            default: return nil
            }
        }
        func isTypeName(_ name: String) -> Bool { name == "int64_t" }
        /// Frame variables and convenience variables, as a session gives them.
        var locals: [String: TypedValue] = [:]
        let convenience = ConvenienceVariables()
        func localVariable(_ name: String) throws(CommandError) -> TypedValue? { locals[name] }
        func convenienceVariable(_ name: String) -> TypedValue? { convenience.value(name) }
        func symbolize(_ address: UInt64) -> String? {
            address == 0x1000 ? "tasks" : address > 0x1000 && address < 0x1000 + 192 ? "tasks+\(address - 0x1000)" : nil
        }
    }

    let target = FakeTarget()
    var evaluator: TypedEvaluator { TypedEvaluator(context: target) }

    func show(_ text: String, _ format: ValueFormatter.Format = .natural) throws -> String {
        let evaluator = self.evaluator
        return try ValueFormatter(evaluator: evaluator, format: format).text(evaluator.evaluate(text))
    }

    /// The one-line error of evaluating and printing `text`, or nil when it prints.
    func failure(_ text: String, _ formatter: ValueFormatter? = nil) -> String? {
        let formatter = formatter ?? ValueFormatter(evaluator: evaluator)
        do throws(CommandError) {
            _ = try formatter.text(formatter.evaluator.evaluate(text))
            return nil
        } catch {
            return error.description
        }
    }

    @Test func localsHideGlobalsAndHistoryReadsBack() throws {
        target.locals["current"] = .scalar(0x1000, type: .pointer(to: target.task))   // hides the global
        var gone = TypedValue(type: target.int64, bytes: [])
        gone.unavailable = "optimized out"
        target.locals["n"] = gone
        #expect(try show("current->pid") == "0")
        #expect(try show("n") == "<optimized out>")
        #expect(failure("n + 1") == "value has been optimized out")
        target.convenience.record(try evaluator.evaluate("tasks[1].pid"))
        target.convenience.set("limit", .scalar(7, type: .int))
        #expect(try show("$1 * 10 + $limit") == "17")
        #expect(try show("$x0") == "4192", "an unset $name is a register")
        #expect(FrameDataCommands.splitAssignment("a->b = c == d").map { "\($0.0)|\($0.1)" } == "a->b|c == d")
        #expect(FrameDataCommands.splitAssignment("a == b") == nil && FrameDataCommands.splitAssignment("a <= b") == nil)
    }

    @Test func arithmeticFollowsCPrecedenceAndTypes() throws {
        #expect(try show("1 + 2 * 3") == "7")
        #expect(try show("(1 + 2) * 3 << 2") == "36")
        #expect(try show("-7 / 2") == "-3")
        #expect(try show("-7 % 3") == "-1")
        #expect(try show("1 < 2 && 3 >= 4 || !0") == "1")
        #expect(try show("0xff & ~0x0f ^ 1") == "241")
        #expect(try show("-1", .hex) == "0xffffffff")
        #expect(try show("(int64_t)-1", .hex) == "0xffffffffffffffff")
        #expect(try show("(unsigned char)0x1ff") == "255 '\\377'")
        #expect(try show("'A'") == "65 'A'")
        #expect(try show("sizeof(struct task)") == "48")
        #expect(try show("sizeof tasks") == "192")
        #expect(throws: CommandError.failed("division by zero")) { try show("1 / (2 - 2)") }
    }

    /// `/a` names what an integer or pointer points at; `/s` is natural (strings stay strings).
    @Test func addressAndStringFormats() throws {
        #expect(try show("current", .address) == "0x1030 <tasks+48>")
        #expect(try show("(long)current + 8", .address) == "0x1038 <tasks+56>")
        #expect(try show("0", .address) == "0x0")
        #expect(try show("tasks[1].name", .string) == show("tasks[1].name"))
        #expect(try show("current", .string) == show("current"))
        #expect(ValueFormatter.format(letter: "a") == .address && ValueFormatter.format(letter: "s") == .string)
    }

    @Test func membersIndexesPointersAndCasts() throws {
        #expect(try show("tasks[1].pid") == "1")
        #expect(try show("current->pid") == "1")
        #expect(try show("(*current).state") == "2")
        #expect(try show("current->next->pid") == "0")
        #expect(try show("current->flag") == "5")
        #expect(try show("&tasks[3] - &tasks[1]") == "2")
        #expect(try show("current") == "(struct task *) 0x1030 <tasks+48>")
        #expect(try show("current + 1") == "(struct task *) 0x1060 <tasks+96>")
        #expect(try show("((struct task *)$x0)->pid") == "2")
        #expect(try show("*(int64_t *)(0x1000 + 56)") == "1")
        #expect(try show("tasks[1].name") == "\"init\", '\\000' <repeats 11 times>")
        #expect(try show("tasks[1]") == "{state = 2, pid = 1, name = \"init\", '\\000' <repeats 11 times>, next = 0x1000 <tasks>, flag = 5}")
        #expect(try show("tasks[2].pid", .hex) == "0x2")
        #expect(try show("start") == "{<text variable, no debug info>} 0x1000 <tasks>")
        #expect(try show("$x0 + 1") == "4193")
        #expect(try evaluator.typeOf(evaluator.parse("tasks")).description == "struct task [4]")
        #expect(try evaluator.typeOf(evaluator.parse("&current->name")).description == "char (*)[16]")
        #expect(try evaluator.typeOf(evaluator.parse("current->next")).description == "struct task *")
    }

    @Test func ptypeSpellsStructsOut() throws {
        #expect(ValueFormatter.ptype(target.current) == """
            struct task {
                int64_t state;
                int64_t pid;
                char name[16];
                struct task *next;
                unsigned int flag : 3;
            } *
            """)
        #expect(CExpression.typeName("struct task *", isTypeName: { _ in false }) == CTypeName(base: "struct task", suffixes: [.pointer]))
        #expect(CExpression.typeName("unsigned long int", isTypeName: { _ in false })?.base == "unsigned long")
        #expect(CExpression.typeName("tasks[1]", isTypeName: { _ in false }) == nil)
    }

    @Test func jsonIsAValueTree() throws {
        let evaluator = self.evaluator
        let json = try ValueFormatter(evaluator: evaluator).json(evaluator.evaluate("tasks[1]"))
        #expect(json.serialized() == #"{"type":"struct task","address":"0x1030","value":{"state":2,"pid":1,"name":"init","next":{"pointer":"0x1000","symbol":"tasks"},"flag":5}}"#)
    }

    @Test func errorsAreOneLineWithAColumn() throws {
        for (text, expected) in [("1 +", "syntax error: expected a value but found end of expression at column 4"),
                                 ("tasks[1", "syntax error: expected \"]\" but found end of expression at column 8"),
                                 ("1 @ 2", "syntax error: unexpected \"@\" at column 3"),
                                 ("0x", "syntax error: bad number \"0x\" at column 1"),
                                 ("tasks[1].nope", "there is no member named \"nope\" in struct task"),
                                 ("*tasks[1].pid", "cannot dereference int64_t: not a pointer"),
                                 ("nothing", "no symbol \"nothing\" in the ELF"),
                                 (String(repeating: "(", count: 200) + "1", "syntax error: expression nested deeper than 64 at column 33")] {
            #expect(failure(text) == expected, "\(text)")
        }
    }

    /// Random token soup and random bytes: every input either evaluates or fails with one line.
    @Test func garbageNeverCrashesAndFailsInOneLine() throws {
        var random = SeededGenerator(seed: 14)
        let pieces = ["tasks", "current", "[", "]", "(", ")", "->", ".", "pid", "name", "next", "*", "&", "-", "+", "~", "!",
                      "sizeof", "struct task", "int64_t", "0x10", "1", "0", "'a'", "$x0", "$", "<<", ">>", "/", "%", "&&",
                      "||", "==", "<", "?", "\"", "'", " ", "unsigned", "char", "18446744073709551615", "99999999999999999999"]
        let evaluator = self.evaluator
        let formatter = ValueFormatter(evaluator: evaluator)
        var evaluated = 0
        for round in 0..<2_000 {
            var text = ""
            if round % 10 == 0 {
                text = String(decoding: (0..<Int.random(in: 0...12, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, as: UTF8.self)
            } else {
                for _ in 0..<Int.random(in: 0...8, using: &random) { text += pieces.randomElement(using: &random)! }
            }
            if let error = failure(text, formatter) {
                #expect(!error.contains("\n"), "\(text.debugDescription): \(error)")
            } else {
                evaluated += 1
            }
        }
        #expect(evaluated > 10)
    }
}
