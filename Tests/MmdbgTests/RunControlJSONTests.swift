import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// Run control's `{event, reason, target, …}` results (README "JSON output"): a fixed
    /// `event` vocabulary, and a deadline or step limit that runs out is a failed command.
    @Suite("run-control results against the real QEMU", .serialized)
    struct RunControlJSONTests {
        @Test func powerOffIsAnExitedEventWithItsStatus() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "continue", "-ex", "status"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 2, "\(run.stdout)")
            let exit = try #require(docs[0].result)
            #expect(docs[0].ok)
            #expect(exit.string("event") == "exited")
            #expect(exit.string("reason") == "exited with status 0")
            #expect(exit["exitStatus"] as? Int == 0)
            #expect(exit.object("target")?.string("state") == "exited")
        }

        @Test func aStepLimitReachedInsideTheLineFails() throws {
            // At map_page's entry: its first line (the prologue) is longer than two instructions.
            let run = try MmdbgBinary.run(["--json", "-ex", "break *map_page", "-ex", "continue", "-ex", "step --max 2", "-ex", "regs pc"])
            #expect(run.status == 1, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 4, "\(run.stdout)")
            #expect(docs[1].result?.string("event") == "breakpoint")
            #expect(docs[1].result?["breakpoint"] as? Int == 1)
            let step = docs[2]
            #expect(!step.ok)
            #expect(step.result?.string("event") == "step-limit")
            #expect(step.result?["steps"] as? Int == 2)
            let pc = try #require(step.result?.object("target")?.address("pc"))
            #expect(docs[3].result?.array("registers")?.first?.address("value") == pc, "the step stopped where it says")
            let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            let line = try KernelSourceLines.find("public func map_page(", in: "Sources/KernelCore/MM/UserPageTables.swift").number
            #expect(errors.count == 1 && errors[0].hasPrefix("error: step: still at ")
                    && errors[0].hasSuffix("UserPageTables.swift:\(line) after 2 instructions (--max 2); stopped at map_page+0x8"), "\(errors)")
        }

        @Test func aFinishDeadlineFailsAndLeavesNoTemporaryBreakpoint() throws {
            let guest = try TinyGuest.image()
            // `loop` never returns: the breakpoint at its x30 is never reached.
            let run = try MmdbgBinary.run(["--kernel", guest, "--json", "-ex", "break loop", "-ex", "continue", "-ex", "delete",
                                           "-ex", "finish --timeout 0.3", "-ex", "info breaks", "-ex", "stepi 2"])
            #expect(run.status == 1, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 6, "\(run.stdout)")
            let finish = docs[3]
            #expect(!finish.ok)
            #expect(finish.result?.string("event") == "deadline")
            #expect(finish.result?.object("target")?.string("state") == "stopped")
            #expect(finish.string("error")?.hasPrefix("finish: no stop within the 0.3 s deadline (--timeout), interrupted; stopped at loop") == true)
            #expect(docs[4].result?.array("breakpoints")?.isEmpty == true)
            #expect(docs[5].ok && docs[5].result?.string("event") == "step" && docs[5].result?["steps"] as? Int == 2)
        }
    }
}
