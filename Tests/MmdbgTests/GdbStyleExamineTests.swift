import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// gdb's `x/NFMT ADDR` reads what `x ADDR N /FMT` reads.
    @Suite("gdb-style x/NFMT against the real QEMU", .serialized)
    struct GdbStyleExamineTests {
        @Test func gdbStyleExamineMatchesTheLongForm() throws {
            let guest = try TinyGuest.image()
            // The guest's code: distinct, non-zero words, so a wrong unit or count shows.
            let run = try MmdbgBinary.run(["--kernel", guest, "--json", "-ex", "x/2 loop", "-ex", "x loop 2 /g", "-ex", "x/2gx loop",
                                           "-ex", "x/4xw loop", "-ex", "x loop 4 /w"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 5, "\(run.stdout)")
            let values = docs.map { $0.result?["values"] as? [String] }
            let giant = try #require(values[0])
            #expect(giant.count == 2 && Set(giant).count == 2 && !giant.contains("0x0"))
            #expect(values[1] == giant)
            #expect(values[2] == giant)
            let words = try #require(values[3])
            #expect(words.count == 4 && values[4] == words)
        }
    }
}
