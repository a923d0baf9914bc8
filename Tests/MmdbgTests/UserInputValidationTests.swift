import Testing
@testable import MmdbgCore

/// Counts and lengths typed by the user are range-checked as 64-bit values
/// before any `Int` conversion or multiplication, and an address range that
/// would wrap past 2^64 is refused before the target sees it. No target is
/// attached: a line that passes validation reaches "not available".
@Suite("Hostile counts, address ranges and names are usage errors, never traps")
struct UserInputValidationTests {
    let session = Session(registry: BuiltinCommands.makeRegistry())

    /// The usage-error message of `line`, or nil when it failed some other way.
    func usageMessage(_ line: String) -> String? {
        if case .usage(let why, _)? = session.execute(line: line).error { return why }
        return nil
    }

    /// True when `line` passed validation and only failed for want of a target.
    func reachedTheTarget(_ line: String) -> Bool {
        if case .unavailable(let why)? = session.execute(line: line).error { return why.contains("not attached to a target") }
        return false
    }

    @Test func examineCountsOutsideTheirRange() {
        #expect(usageMessage("x 0x40080000 -1") == "COUNT must be 1…131072, not -1")
        #expect(usageMessage("x 0x40080000 0x2000000000000000") == "COUNT must be 1…131072, not 0x2000000000000000")
        #expect(usageMessage("x 0x40080000 -1 /s") == "string length must be 1…1048576, not -1")
        #expect(usageMessage("x 0x40080000 0x2000000000000000 /s") == "string length must be 1…1048576, not 0x2000000000000000")
        #expect(usageMessage("x 0x40080000 0") == "COUNT must be 1…131072, not 0")
        #expect(usageMessage("x 0x40080000 0 /s") == "string length must be 1…1048576, not 0")
        #expect(usageMessage("x 0x40080000 18446744073709551615 /b") == "COUNT must be 1…1048576, not 18446744073709551615")
        #expect(usageMessage("x 0x40080000 -9223372036854775808") == "COUNT must be 1…131072, not -9223372036854775808")
        #expect(usageMessage("x/9999999g 0x40080000") == "COUNT must be 1…131072, not 9999999")
        #expect(usageMessage("x/0b 0x40080000") == "COUNT must be 1…1048576, not 0")
    }

    /// gdb's `x/NFMT`: a count alone means giant words; `x` (hex) is the only display and may
    /// come before or after the size. The unit shows in the size of a range that wraps.
    @Test func gdbStyleExamineFormats() {
        #expect(usageMessage("x/3 0xfffffffffffffff8") == "0xfffffffffffffff8 + 24 bytes wraps past 2^64")
        #expect(usageMessage("x/3gx 0xfffffffffffffff8") == "0xfffffffffffffff8 + 24 bytes wraps past 2^64")
        #expect(usageMessage("x/3xw 0xfffffffffffffff8") == "0xfffffffffffffff8 + 12 bytes wraps past 2^64")
        #expect(usageMessage("x/9bx 0xfffffffffffffff8") == "0xfffffffffffffff8 + 9 bytes wraps past 2^64")
        #expect(reachedTheTarget("x/1x 0xfffffffffffffff8"), "one giant word fits")
        #expect(usageMessage("x/x 0xfffffffffffffff8") == "0xfffffffffffffff8 + 64 bytes wraps past 2^64", "8 by default")
        #expect(reachedTheTarget("x/2 0x40080000"))
        #expect(reachedTheTarget("x/4gx 0x40080000"))
        #expect(usageMessage("x/4d 0x40080000") == "unknown format /d")
        #expect(usageMessage("x/4xx 0x40080000") == "unknown format /xx")
        #expect(usageMessage("x/2 0x40080000 3") == "give the count once (either `/4g` or `4`)")
    }

    @Test func examineCountsAtTheirLimitsReachTheTarget() {
        #expect(reachedTheTarget("x 0x40080000 131072 /g"))
        #expect(reachedTheTarget("x 0x40080000 1048576 /b"))
        #expect(reachedTheTarget("x 0x40080000 1048576 /s"))
        #expect(reachedTheTarget("x/1w 0x40080000"))
    }

    @Test func examineRangesThatWrapPast2To64() {
        #expect(usageMessage("x 0xfffffffffffffff8 2 /g") == "0xfffffffffffffff8 + 16 bytes wraps past 2^64")
        #expect(usageMessage("x -8 2 /g") == "0xfffffffffffffff8 + 16 bytes wraps past 2^64")
        #expect(usageMessage("x 0xffffffffffffffff 2 /b") == "0xffffffffffffffff + 2 bytes wraps past 2^64")
        #expect(usageMessage("x 0x40080000 131072 /g --phys") == nil)
        // The last bytes of the address space are a valid range; a string stops there.
        #expect(reachedTheTarget("x 0xfffffffffffffff8 1 /g"))
        #expect(reachedTheTarget("x 0xffffffffffffffff 1 /b"))
        #expect(reachedTheTarget("x -1 /s"))
    }

    @Test func otherCommandsBoundTheirNumbers() {
        #expect(usageMessage("watch 0x10 -1") == "LEN must be 1…4096, not -1")
        #expect(usageMessage("watch 0x10 0x10000000000000000") == nil, "past 64 bits is a bad number, not a usage error")
        #expect(usageMessage("watch 0xffffffffffffffff 8") == "0xffffffffffffffff + 8 bytes wraps past 2^64")
        #expect(reachedTheTarget("watch 0xfffffffffffffff8 8"))
        #expect(usageMessage("delete -1") == "ID must be 1…2147483647, not -1")
        #expect(usageMessage("delete 18446744073709551615") == "ID must be 1…2147483647, not 18446744073709551615")
        #expect(usageMessage("stepi -1") == "COUNT must be 1…1000000, not -1")
        #expect(usageMessage("stepi 0x8000000000000000") == "COUNT must be 1…1000000, not 0x8000000000000000")
        #expect(usageMessage("step --max -1") == "--max must be 1…10000000, not -1")
        #expect(usageMessage("log --last -1") == "--last must be 1…9223372036854775807, not -1")
        #expect(usageMessage("log --last 0x8000000000000000") == "--last must be 1…9223372036854775807, not 0x8000000000000000")
        #expect(usageMessage("pt --to 0") == "--to must be above 0 (it is exclusive)", "an exclusive end of 0 must not wrap to everything")
        #expect(usageMessage("pt kernel --from 0x10 --to 0x10") == "--from must be below --to (--to is exclusive)")
        #expect(usageMessage("uart --last 0") == "--last must be 1…9223372036854775807, not 0")
    }

    @Test func durationsSayWhatIsWrongWithThem() {
        let range = "must be more than 0 and less than 86400 seconds"
        #expect(usageMessage("continue --timeout 0") == "--timeout \(range), not 0")
        #expect(usageMessage("continue --timeout -5") == "--timeout \(range), not -5")
        #expect(usageMessage("finish --timeout 86400") == "--timeout \(range), not 86400")
        #expect(usageMessage("continue --timeout soon") == #"--timeout takes seconds (like 5 or 0.5), not "soon""#)
        #expect(usageMessage("continue --timeout nan") == #"--timeout takes seconds (like 5 or 0.5), not "nan""#)
        #expect(reachedTheTarget("continue --timeout 0.5"))
    }

    @Test func theReattachHintIsForThePromptOnly() {
        let lost = CommandError.connectionLost("the stub closed the connection")
        #expect(lost.description == "connection lost: the stub closed the connection")
        let renderer = TextRenderer(colour: false)
        #expect(renderer.render(error: lost) == "error: connection lost: the stub closed the connection")
        #expect(renderer.render(error: lost, atPrompt: true)
                == "error: connection lost: the stub closed the connection; use `attach` to re-attach")
        #expect(renderer.render(error: .failed("x"), atPrompt: true) == "error: x")
    }

    @Test func qemuMonitorRejectionsAreRecognised() {
        #expect(ConsoleCommands.qemuRejection(in: "unknown command: 'nosuchcmd'\r\n") == "unknown command: 'nosuchcmd'")
        #expect(ConsoleCommands.qemuRejection(in: "unexpected end of expression\r\nTry \"help xp\" for more information\r\n")
                == #"unexpected end of expression; Try "help xp" for more information"#)
        #expect(ConsoleCommands.qemuRejection(in: "VM status: paused (debug)\r\n") == nil)
        #expect(ConsoleCommands.qemuRejection(in: "") == nil)
    }

    @Test func snapshotNamesArePlainAndShort() {
        let rule = "a snapshot name is 1…64 letters, digits, `.`, `_` or `-`"
        #expect(usageMessage("snapshot " + String(repeating: "a", count: 65)) == rule)
        #expect(usageMessage("snapshot \"two words\"") == rule)
        #expect(usageMessage("snapshot \"a\u{1B}[2J\"") == rule)
        #expect(usageMessage("snapshot before-fork_2.1") == nil)
    }

    @Test func everyErrorStaysOneShortLine() {
        let long = String(repeating: "a", count: 20_000)
        for error in [CommandError.target(long), .failed(long), .unavailable(long), .connectionLost(long), .qemuExited(long),
                      .target("two\nlines")] {
            #expect(error.description.count < 400, "\(error.description.prefix(60))…")
            #expect(!error.description.contains("\n"))
        }
    }
}
