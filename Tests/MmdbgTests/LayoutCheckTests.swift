import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// The layout check on attach: KernelABI's compiled-in layout against the kernel ELF's C DWARF.
    @Suite("layout check on attach: the bundled kernel and one with a field moved")
    struct LayoutCheckSystemTests {
        /// The bundled kernel: every structure the views decode is in the C DWARF and matches.
        @Test func theBundledKernelMatchesEveryStructure() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "info layout", "-ex", "log --last 1"], timeout: 90)
            #expect(!run.stderr.contains("layout:"), "\(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 2, "\(run.stdout)")
            let structs = try #require((docs[0]["result"] as? [String: Any])?["structs"] as? [[String: Any]])
            #expect(Set(structs.compactMap { $0["struct"] as? String })
                    == ["mm_task", "mm_cpu_context", "mm_struct", "mm_user_page", "mm_page_pool", "mm_cpu", "mm_log_ring", "mm_trap_frame"])
            for entry in structs { #expect(entry["status"] as? String == "matches", "\(entry)") }
            #expect(docs[1].ok, "\(docs[1])")
        }

        /// MUTANT_LAYOUT_MOVED moves mm_log_ring.head before size: attach warns in one line naming the
        /// field, `log` is refused with that line, and the views of other structures still work.
        @Test func aMovedFieldDisablesOnlyTheViewsThatDecodeIt() throws {
            let mutant = try MutantKernel.build("MUTANT_LAYOUT_MOVED")
            defer { mutant.remove() }
            let run = try MmdbgBinary.run(["launch", "--kernel", mutant.elf, "--json", "-ex", "info layout", "-ex", "log",
                                           "-ex", "break sys_brk", "-ex", "continue", "-ex", "tasks", "-ex", "pt 1", "-ex", "log"],
                                          timeout: 120)
            let warnings = run.stderr.split(separator: "\n").filter { $0.contains("layout:") }
            #expect(warnings.count == 1, "\(run.stderr)")
            #expect(warnings.first?.contains("struct mm_log_ring.") == true && warnings.first?.hasSuffix("disabled: log") == true,
                    "\(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 7, "\(run.stdout)")
            let structs = try #require((docs[0]["result"] as? [String: Any])?["structs"] as? [[String: Any]])
            let ring = try #require(structs.first { $0["struct"] as? String == "mm_log_ring" })
            #expect(ring["status"] as? String == "mismatched")
            let differences = ring["differences"] as? [String] ?? []
            #expect(differences.contains { $0.hasPrefix("struct mm_log_ring.head is at offset 8 in the ELF's DWARF, 16") }, "\(differences)")
            #expect(structs.filter { $0["status"] as? String != "matches" }.count == 1, "only the ring differs: \(structs)")
            for index in [1, 6] {
                #expect(!docs[index].ok)
                let message = docs[index]["error"] as? String ?? "\(docs[index])"
                #expect(message.hasPrefix("log is disabled: struct mm_log_ring."), "\(message)")
            }
            #expect(docs[3].ok, "continue: \(docs[3])")
            // The task table decodes as usual on the same kernel: init (pid 1) with its tables.
            let tasks = (docs[4]["result"] as? [String: Any])?["tasks"] as? [[String: Any]] ?? []
            #expect(tasks.contains { $0["pid"] as? Int == 1 }, "\(docs[4])")
            #expect(docs[5].ok, "pt 1: \(docs[5])")
        }
    }
}
