import Foundation
import Testing

extension SystemTests {
    /// Every bad line gets exactly one error line; mmdbg neither crashes nor hangs.
    @Suite("mmdbg bad-input corpus through batch mode", .serialized)
    struct BadInputCorpusTests {
        static let corpus: [String] = [
            "frobnicate", "contiue", "ta", "x", "x 0xzz", "x 12ab", "x 0x10 /q", "x 0x10 0", "x 0x10 99999999",
            "x 0x10 4 5", "x 0x10 --bogus", "x 0x10 --phys=1", "x $", "x map_page+", "x \"unterminated",
            "x 18446744073709551616", "regs --decode --decode=1", "sym", "addr", "break", "watch", "watch 0x10 0",
            "watch 0x10 99999", "delete 999", "delete abc", "info", "info nothing", "task", "task abc",
            "task 99999999999", "pt 1 2 3", "pt --user --kernel-only", "pt --from 0x2000 --to 0x1000", "pt --to 0", "vtop",
            "vtop 0x10 --pid", "vtop 0x10 --pid abc", "stepi 0", "stepi -1", "step --max 0", "continue --timeout -1",
            "continue --timeout abc", "continue 5", "finish now", "log --last 0", "log --last x", "uart --last 0",
            "monitor", "help nosuchcommand", "help a b", "snapshot", "quit now", "attach a b",
            "--phys", "/g", "\u{1}\u{2}\u{7f}", "x 0x10 ✓", String(repeating: "x", count: 10_000),
            "x " + String(repeating: "1", count: 5_000),
            // Answered by the target: unmapped memory, unknown names, nothing to interrupt, a bad address.
            "x 0xdead00000000", "x 0xffffffffffff0000 2 /g", "regs NOPE", "regs pc nope", "x nosuchsymbol", "break nosuchsymbol",
            "vtop 0x10 --pid 99", "task 99", "interrupt", "delete 42", "attach 127.0.0.1:1", "pt diff nosuchsnapshot",
            // Hostile numbers: negative, zero and huge counts, ranges that wrap past 2^64 (these trapped once).
            "x 0x40080000 -1", "x 0x40080000 0x2000000000000000", "x 0x40080000 -1 /s", "x 0x40080000 0 /s",
            "x 0x40080000 0x2000000000000000 /s", "x 0x40080000 18446744073709551615 /b", "x 0x40080000 -9223372036854775808",
            "x/9999999g 0x40080000", "x/0w 0x40080000", "x 0xfffffffffffffff8 2 /g", "x -8 2 /g", "x 0xffffffffffffffff 2 /b",
            "x -1 /s", "watch 0x10 -1", "watch 0xffffffffffffffff 8", "delete -1",
            "delete 18446744073709551615", "stepi 0x8000000000000000", "step --max -1", "log --last -1",
            "log --last 0x8000000000000000", "uart --last -1",
            // Long or odd text: error lines stay short, names stay plain.
            "monitor info " + String(repeating: "a", count: 20_000), "snapshot " + String(repeating: "a", count: 5_000),
            "snapshot a/b", "snapshot \"two words\"", "vtop 0x10 --pid " + String(repeating: "a", count: 5_000),
        ]

        @Test func everyBadLineGivesOneErrorLine() throws {
            var arguments: [String] = []
            for line in Self.corpus { arguments += ["-ex", line] }
            let run = try MmdbgBinary.run(arguments, timeout: 120)
            #expect(run.status == 1, "exit status 1 (a command failed), not a crash: \(run.status)")
            let errors = run.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("error:") }
            #expect(errors.count == Self.corpus.count, "one error line per bad input; stderr:\n\(run.stderr)")
            for error in errors { #expect(error.count < 400, "error lines stay short: \(error.prefix(120))…") }
            #expect(!run.stderr.contains("Fatal error"), "no Swift trap")
        }

        @Test func aFailedAttachKeepsTheCurrentConnection() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "attach 127.0.0.1:1", "-ex", "regs pc"])
            let docs = try run.jsonDocuments()
            try #require(docs.count == 2)
            #expect(!docs[0].ok)
            #expect(docs[1].ok, "still attached to the launched QEMU: \(run.stderr)")
        }

        @Test func theSessionSurvivesBadInputAndKeepsWorking() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "x 0xzz", "-ex", "frobnicate", "-ex", "status"])
            let docs = try run.jsonDocuments()
            try #require(docs.count == 3)
            #expect(docs.map { $0["ok"] as? Bool } == [false, false, true])
            #expect((docs[2]["result"] as? [String: Any])?["ownership"] as? String == "launched")
        }
    }
}
