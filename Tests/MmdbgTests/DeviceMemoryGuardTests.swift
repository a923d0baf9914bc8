import Foundation
import Testing

extension SystemTests {
    /// `x` reads virtual memory through Inspect's `GuardedMemoryReader`: a VA
    /// the kernel maps as Device memory (the GIC, which crashes QEMU when the
    /// stub reads it under -smp 2) is refused with one line and QEMU lives on;
    /// Normal memory reads the same bytes as the physical read of its PA.
    @Suite("mmdbg x refuses device memory")
    struct DeviceMemoryGuardTests {
        @Test func theGICThroughTheLinearMapIsRefusedAndQEMUSurvives() throws {
            let gic: UInt64 = 0xffff_0000_0800_0000
            let run = try MmdbgBinary.run(["--json", "--qemu-arg=-smp", "--qemu-arg=2", "-ex", "break sys_fork", "-ex", "continue",
                                           "-ex", "vtop \(hexString(gic))", "-ex", "x \(hexString(gic)) 4 /w",
                                           "-ex", "x/4w sys_fork", "-ex", "vtop sys_fork", "-ex", "uart"])
            let docs = try run.jsonDocuments()
            try #require(docs.count == 7, "stderr: \(run.stderr)")
            try #require(docs[1].ok, "reached sys_fork: \(run.stderr)")
            let gicTranslation = try #require(docs[2].result)
            #expect(gicTranslation.object("attributes")?.string("memoryType")?.hasPrefix("Device") == true,
                    "the kernel maps the GIC as Device memory: \(gicTranslation)")
            #expect(!docs[3].ok)
            let refusal = try #require(docs[3].string("error"))
            #expect(refusal.contains("refusing to read \(hexString(gic))") && refusal.contains("Device"), "\(refusal)")
            #expect(docs[4].ok, "Normal memory still reads: \(docs[4])")
            #expect(docs[5].ok, "the stub still answers after the refusal")
            #expect(docs[6].result?["qemuRunning"] as? Bool == true, "QEMU is still alive: \(run.stderr)")
            // The guarded virtual read returns the bytes at the translated PA.
            let pa = try #require(docs[5].result?.address("pa"))
            let physical = try MmdbgBinary.run(["--json", "-ex", "break sys_fork", "-ex", "continue", "-ex", "x/4w \(hexString(pa)) --phys"])
            let physicalDocs = try physical.jsonDocuments()
            try #require(physicalDocs.count == 3 && physicalDocs[2].ok, "stderr: \(physical.stderr)")
            #expect(docs[4].result?["values"] as? [String] == physicalDocs[2].result?["values"] as? [String])
        }

        private func hexString(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
    }
}
