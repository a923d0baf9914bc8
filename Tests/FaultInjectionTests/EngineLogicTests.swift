import FaultInjection
import MmdbgCore
import SeededRandom
import Foundation
import Testing

/// The engine's pure parts: selection, the seeded generator, PTE damage,
/// scenario files, transcript comparison and report rendering.
@Suite("Fault injection: selection, actions, scenario files, reports")
struct EngineLogicTests {
    /// Which of hits 1…n fire.
    func firing(_ selection: FaultSelection, hits: Int = 12) -> [Int] {
        var generator = SeededGenerator(seed: selection.seed)
        var fired = 0
        var result: [Int] = []
        for hit in 1...hits where selection.fires(hit: hit, fired: fired, generator: &generator) {
            fired += 1
            result.append(hit)
        }
        return result
    }

    @Test func nthEveryAfterAndAtMostSelectTheDocumentedHits() {
        var nth = FaultSelection(); nth.nth = 3
        #expect(firing(nth) == [3])
        var every = FaultSelection(); every.every = 4
        #expect(firing(every) == [4, 8, 12])
        var after = FaultSelection(); after.after = 9
        #expect(firing(after) == [10, 11, 12])
        var capped = FaultSelection(); capped.after = 2; capped.atMost = 2
        #expect(firing(capped) == [3, 4])
        var pinned = FaultSelection(); pinned.nth = 1; pinned.exactHits = [2, 5]
        #expect(firing(pinned) == [2, 5])
    }

    @Test func probabilityIsReproducibleFromTheSeedAndNearP() {
        var selection = FaultSelection(); selection.probability = 0.25; selection.seed = 42
        let first = firing(selection, hits: 4000)
        #expect(first == firing(selection, hits: 4000))
        #expect(abs(Double(first.count) / 4000 - 0.25) < 0.03)
        selection.seed = 43
        #expect(firing(selection, hits: 4000) != first)
        var never = FaultSelection(); never.probability = 0
        #expect(firing(never).isEmpty)
    }

    @Test func splitMix64MatchesItsReferenceOutput() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func exhaustionFollowsNthAndAtMost() {
        var nth = FaultSelection(); nth.nth = 2
        #expect(!nth.isExhausted(hits: 1, fired: 0))
        #expect(nth.isExhausted(hits: 2, fired: 1))
        var capped = FaultSelection(); capped.atMost = 1
        #expect(capped.isExhausted(hits: 7, fired: 1))
        #expect(!FaultSelection().isExhausted(hits: 1000, fired: 1000))
    }

    @Test func pteCorruptionsChangeOnlyTheirBits() {
        let descriptor: UInt64 = 0x0060_0000_402E_0F43  // valid page, AP[2]=0, UXN=0… as the kernel writes them
        #expect(PTECorruption.clearValid.apply(to: descriptor) == descriptor & ~1)
        #expect(PTECorruption.flipAP.apply(to: descriptor) == descriptor | 0x80)
        #expect(PTECorruption.flipAP.apply(to: PTECorruption.flipAP.apply(to: descriptor)) == descriptor)
        #expect(PTECorruption.flipUXN.apply(to: descriptor) == descriptor ^ (1 << 54))
        let redirected = PTECorruption.redirect(physicalAddress: 0x4123_4000).apply(to: descriptor)
        #expect(redirected & 0x0000_FFFF_FFFF_F000 == 0x4123_4000)
        #expect(redirected & ~0x0000_FFFF_FFFF_F000 == descriptor & ~0x0000_FFFF_FFFF_F000)
    }

    @Test func scenarioFilesKeepCommandsAndReadDirectives() throws {
        let text = """
        # A title line
        #! append tests=fork
        #! icount 6
        #! timeout 12

        go copy_process   # trailing comment stays on the line (the tokenizer drops it)
        expect summary --failed 0
        """
        let scenario = try Scenario(text: text, path: "dir/example.mmdbg")
        #expect(scenario.name == "example")
        #expect(scenario.summary == "A title line")
        #expect(scenario.append == "tests=fork")
        #expect(scenario.icountShift == 6)
        #expect(scenario.timeout == 12)
        #expect(scenario.lines.map(\.number) == [6, 7])
        #expect(scenario.lines[1].text == "expect summary --failed 0")
    }

    @Test(arguments: [
        ("#! icount 99\ngo", "x.mmdbg:1: #! icount wants a shift 0…10"),
        ("#! bogus 1\ngo", "x.mmdbg:1: unknown directive \"#! bogus\" (append, icount, timeout, smp)"),
        ("#! smp 9\ngo", "x.mmdbg:1: #! smp wants a CPU count 1…8"),
        ("# only a comment\n", "x.mmdbg: no commands"),
        ("#! timeout -1\ngo", "x.mmdbg:1: #! timeout wants seconds (0…3600]"),
        ("go\nexpect last-write mm_pool+16 free_page", "x.mmdbg:2: wants `expect last-write ADDR [LEN] in FUNCTION`"),
        ("expect last-write mm_pool 99999 in free_page", "x.mmdbg:1: LEN \"99999\" is not a byte count 1…4096"),
    ])
    func badScenarioFilesGiveOneLineErrors(text: String, message: String) {
        do throws(FaultInjectionError) {
            _ = try Scenario(text: text, path: "x.mmdbg")
            Issue.record("no error for \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func lastWriteExpectationsParseAndNameTheirWriter() throws {
        let scenario = try Scenario(text: "go\nexpect last-write mm_pool+16 8 in free_page --within 30", path: "x.mmdbg")
        #expect(scenario.lines.count == 2)
        let parsed = try LastWriteExpectation.parse(["last-write", "mm_pool+16", "in", "free_page"]).get()
        #expect(parsed == LastWriteExpectation(address: "mm_pool+16", length: 8, function: "free_page"))
        #expect(LastWriteExpectation.names("free_page", function: "free_page+0x5c", source: nil))
        #expect(!LastWriteExpectation.names("free_page", function: "free_pages+0x4", source: nil))
        // A recording's trace notes the instruction count from `info replay` while QEMU records.
        let recording = "Recording execution '/tmp/r/events.rr': instruction count = 2338807"
        #expect(ReplayPosition.instructionCount(fromInfoReplay: recording, recording: true) == 2_338_807)
        #expect(ReplayPosition.instructionCount(fromInfoReplay: recording) == nil)
    }

    @Test func transcriptDifferenceNamesTheFirstDifferingByteAndLines() {
        #expect(TranscriptDifference(expected: "a\nb\n", actual: "a\nb\n") == nil)
        let difference = TranscriptDifference(expected: "one\ntwo\nthree\n", actual: "one\ntwX\nthree\n")
        #expect(difference?.offset == 6)
        #expect(difference?.expectedLine == "two")
        #expect(difference?.actualLine == "twX")
        #expect(TranscriptDifference(expected: "a\n", actual: "a\nmore\n")?.expectedLine == "<end of transcript>")
    }

    @Test func junitEscapesMarkupAndControlCharacters() {
        #expect(RunReport.escape("<a & \"b\">\u{1}") == "&lt;a &amp; &quot;b&quot;&gt;\u{FFFD}")
    }

    @Test func guestOutputDropsQEMUDiagnostics() {
        let text = "[BOOT] one\nqemu-system-aarch64: warning: icount sleep disabled\n[BOOT] two\n"
        #expect(ScenarioRunner.guestOutput(text) == "[BOOT] one\n[BOOT] two\n")
    }
}
