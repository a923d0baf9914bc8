import Testing
@testable import MmdbgCore

@Suite("Command language: tokenizer, numbers, address expressions")
struct TokenizerTests {
    @Test func wordsOptionsFormatsAndQuotes() throws {
        let tokens = try Tokenizer.tokenize(#"x  $sp 4 /g --phys "a b" --pid=3 'c\d' # comment"#)
        #expect(tokens == [.word("x"), .word("$sp"), .word("4"), .format("g"), .option(name: "phys", value: nil),
                           .quoted("a b"), .option(name: "pid", value: "3"), .quoted(#"c\d"#)])
    }

    @Test func formatGluedToCommandName() throws {
        #expect(try Tokenizer.tokenize("x/4g $sp") == [.word("x"), .format("4g"), .word("$sp")])
        // A path is not a format: only the first token is split, and only before letters/digits.
        #expect(try Tokenizer.tokenize("run scenarios/oom.mmdbg") == [.word("run"), .word("scenarios/oom.mmdbg")])
    }

    @Test func gdbCountOnlyAndDisplayLetterFormats() throws {
        #expect(try Tokenizer.tokenize("x/2 $sp") == [.word("x"), .format("2"), .word("$sp")])
        #expect(try Tokenizer.tokenize("x/4gx $sp") == [.word("x"), .format("4gx"), .word("$sp")])
        #expect(try Tokenizer.tokenize("x $sp /8") == [.word("x"), .word("$sp"), .format("8")])
        #expect(try Tokenizer.tokenize("run /tmp/a.mmdbg") == [.word("run"), .word("/tmp/a.mmdbg")])
    }

    @Test func doubleQuoteEscapes() throws {
        #expect(try Tokenizer.tokenize(#"echo "say \"hi\"\n""#) == [.word("echo"), .quoted("say \"hi\"\n")])
    }

    @Test func quoteGluedToOptionValue() throws {
        #expect(try Tokenizer.tokenize(#"expect --uart="OOM at 0x""#) == [.word("expect"), .option(name: "uart", value: "OOM at 0x")])
    }

    @Test func doubleDashEndsOptions() throws {
        #expect(try Tokenizer.tokenize("monitor -- --help") == [.word("monitor"), .word("--help")])
    }

    @Test func unterminatedQuoteIsOneLineSyntaxError() {
        #expect(throws: CommandError.syntax("unterminated \" quote")) { try Tokenizer.tokenize(#"x "abc"#) }
    }

    @Test func commentsAndBlankLinesGiveNoTokens() throws {
        #expect(try Tokenizer.tokenize("   # just a comment").isEmpty)
        #expect(try Tokenizer.tokenize("").isEmpty)
    }

    @Test(arguments: [
        ("0x40080000", UInt64(0x4008_0000)), ("0XFF", 255), ("1234", 1234), ("0b1010", 10), ("0o17", 15),
        ("0xffff_0000_4008_0000", 0xFFFF_0000_4008_0000), ("-1", UInt64.max), ("18446744073709551615", UInt64.max),
    ])
    func numbers(text: String, value: UInt64) {
        #expect(NumberParser.parse(text) == value)
    }

    @Test(arguments: ["0x", "0xzz", "12ab", "", "-", "18446744073709551616", "0b102"])
    func badNumbers(text: String) {
        #expect(NumberParser.parse(text) == nil)
    }

    @Test func expressionTermsAndArithmetic() throws {
        let context = FixedContext(registers: ["pc": 0x1000, "sp": 0x8000], symbols: ["map_page": 0xFFFF_0000_4008_1000])
        #expect(try AddressExpression(parsing: "$pc+4").evaluate(in: context) == 0x1004)
        #expect(try AddressExpression(parsing: "map_page+0x10-8").evaluate(in: context) == 0xFFFF_0000_4008_1008)
        #expect(try AddressExpression(parsing: "$sp-16").evaluate(in: context) == 0x7FF0)
        #expect(try AddressExpression(parsing: "-1").evaluate(in: context) == UInt64.max)
        #expect(try AddressExpression(parsing: "0x10").isLiteral)
        #expect(throws: CommandError.unknownSymbol("nope")) { try AddressExpression(parsing: "nope+4").evaluate(in: context) }
        #expect(throws: CommandError.badNumber("0x1g")) { try AddressExpression(parsing: "$pc+0x1g") }
        #expect(throws: CommandError.syntax("missing operand in \"$pc+\"")) { try AddressExpression(parsing: "$pc+") }
    }
}

/// Registers and symbols from dictionaries, for evaluating expressions without a target.
struct FixedContext: ExpressionContext {
    var registers: [String: UInt64]
    var symbols: [String: UInt64]
    func registerValue(_ name: String) throws(CommandError) -> UInt64 {
        guard let value = registers[name] else { throw .unknownRegister(name) }
        return value
    }
    func symbolAddress(_ name: String) throws(CommandError) -> UInt64 {
        guard let value = symbols[name] else { throw .unknownSymbol(name) }
        return value
    }
}
