import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// `mmdbg launch --record`, `mmdbg replay --debug`: the real binary, the real QEMU.
    @Suite("mmdbg time travel from the command line", .serialized)
    struct TimeTravelCLITests {
        @Test func recordAtThePromptReplayBackwardsAndRefuseAnotherImage() throws {
            let kernel = try Tools.kernelImage()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-ttcli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            defer { try? FileManager.default.removeItem(at: dir) }
            let recording = dir.appendingPathComponent("boot").path
            // At quit the kernel runs on to power-off, so the recording is the whole boot.
            let record = try MmdbgBinary.run(["launch", "--record", recording, "-ex", "break sys_brk", "-ex", "continue", "-ex", "quit"],
                                             timeout: 120)
            #expect(record.status == 0, "stderr: \(record.stderr)")
            let transcript = try String(contentsOfFile: recording + "/uart.txt", encoding: .utf8)
            #expect(transcript.contains("[BOOT] power off"))
            #expect(FileManager.default.fileExists(atPath: recording + "/manifest.json"))

            let replay = try MmdbgBinary.run(["replay", "--debug", recording, "--json", "-ex", "reverse-stepi",
                                              "-ex", "break sys_brk", "-ex", "continue", "-ex", "reverse-stepi 2", "-ex", "stepi 2",
                                              "-ex", "reverse-continue", "-ex", "quit"], timeout: 120)
            #expect(replay.status == 0, "stderr: \(replay.stderr)")
            let docs = try replay.jsonDocuments()
            try #require(docs.count == 7, "\(replay.stdout)")
            func result(_ i: Int) -> [String: Any] { docs[i]["result"] as? [String: Any] ?? [:] }
            #expect(result(0)["event"] as? String == "recording-boundary")
            #expect(result(0)["icount"] as? Int == 0)
            let hit = result(2)
            #expect(hit["event"] as? String == "breakpoint")
            let position = try #require(hit["icount"] as? Int)
            #expect(result(3)["direction"] as? String == "reverse" && result(3)["icount"] as? Int == position - 2)
            #expect(result(4)["icount"] as? Int == position)
            #expect((result(4)["target"] as? [String: Any])?["pc"] as? String == (hit["target"] as? [String: Any])?["pc"] as? String)
            // Nothing behind the first sys_brk: back to the start.
            #expect(result(5)["event"] as? String == "recording-boundary", "\(result(5))")

            // Another image: one line, exit 1, no QEMU.
            let other = ((kernel as NSString).deletingLastPathComponent as NSString).appendingPathComponent("user/Init.elf")
            let refused = try MmdbgBinary.run(["replay", "--debug", recording, "--kernel", other, "-ex", "quit"], timeout: 60)
            #expect(refused.status == 1)
            let lines = refused.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("error: replay refused:") == true, "\(refused.stderr)")
        }
    }
}
