import FaultInjection
import Foundation
import MmdbgCore
import Testing
import TestSupport

/// The fault commands in the command language, without a target: bad input
/// is one clear line, never a crash; the registry has the real commands.
@Suite("Fault injection: commands and bad input")
struct CommandTests {
    func session() throws -> Session {
        let session = Session(registry: FaultCommands.makeRegistry())
        session.symbols = try ELFSymbolTable(path: try Tools.kernelImage())
        return session
    }

    func error(_ line: String) throws -> String {
        let result = try session().execute(line: line)
        guard case .failure(let error) = result.outcome else {
            Issue.record("`\(line)` succeeded")
            return ""
        }
        return error.description
    }

    @Test func theRegistryHasTheRealInjectAndRunCommands() throws {
        let registry = FaultCommands.makeRegistry()
        for name in ["inject", "run", "go", "expect", "baseline"] {
            #expect(registry.lookup(name)?.group == "fault injection", "\(name)")
        }
        #expect(try error("run /nonexistent.mmdbg") == "/nonexistent.mmdbg: cannot read the file")
        #expect(!(try error("inject get_free_page --return 0")).contains("not available yet"))
    }

    @Test(arguments: [
        ("inject get_free_page", "missing action (--return, --set, --write, --pte, --brk or --skip); usage: "),
        ("inject get_free_page --return 0 --skip", "one action per fault (got --return --skip); usage: "),
        ("inject no_such_function --return 0", "no symbol \"no_such_function\" in the ELF"),
        ("inject get_free_page --caller nowhere --return 0", "no symbol \"nowhere\" in the ELF"),
        ("inject get_free_page --seed 3 --return 0", "--seed needs --probability; usage: "),
        ("inject get_free_page --probability 1.5 --return 0", "--probability must be 0…1; usage: "),
        ("inject get_free_page --nth 0 --return 0", "--nth must be a whole number ≥ 1; usage: "),
        ("inject get_free_page --pte 2:0x1000:melt", "--pte HOW must be clear-valid, flip-ap, flip-uxn or redirect=PA; usage: "),
        ("inject get_free_page --pte nonsense", "--pte wants PID:VA:clear-valid|flip-ap|flip-uxn|redirect=PA; usage: "),
        ("inject get_free_page --brk 2", "--brk wants NAME=VALUE, got \"2\"; usage: "),
        ("inject mm_pool --watch sideways --skip", "--watch wants write, read or access; usage: "),
        ("inject mm_pool --watch write --len 3 --skip", "--len must be 1, 2, 4 or 8; usage: "),
        ("inject now --nth 2 --skip", "`now` applies once, at once: --nth does not apply; usage: "),
        ("inject clear 9", "no fault 9 (see `inject list`)"),
        ("inject clear -1", "ID must be 1…"),
        ("inject clear 0xffffffffffffffff", "ID must be 1…"),
        ("expect summary --failed -1", "--failed must be 0…"),
        ("expect sideways", "unknown expectation \"sideways\" (one of uart, absent, summary, exit, task, free-pages, check, alive, last-write); usage: "),
        ("expect last-write mm_pool+16 free_page", "wants `expect last-write ADDR [LEN] in FUNCTION`; usage: "),
        ("expect task 2 dancing", "task state must be one of alive, reaped, runnable, running, sleeping, waiting, zombie; usage: "),
        ("expect uart '(unclosed'", "bad regular expression /(unclosed/"),
        ("go --fired 1 get_free_page", "--fired is a goal of its own: no SYMBOL or --finish with it; usage: "),
    ])
    func badInputIsOneClearLine(line: String, prefix: String) throws {
        let message = try error(line)
        #expect(message.hasPrefix(prefix), "\(line) → \(message)")
        #expect(!message.contains("\n"))
    }

    @Test func commandsThatNeedATargetSaySo() throws {
        #expect(try error("inject get_free_page --return 0").contains("not attached to a target"))
        #expect(try error("go get_free_page").contains("not attached"))
        #expect(try error("baseline").contains("not attached"))
        let trace = try session().execute(line: "inject trace")
        guard case .success(let output) = trace.outcome else { Issue.record("inject trace failed"); return }
        #expect(TextRenderer(colour: false).render(output) == "no fault has fired")
    }
}
