import Foundation
import Inspect
import Testing
import TestSupport

extension SystemTests {
    /// `sym` and breakpoint labels name only a symbol that contains the address
    /// (the reviewer saw `_start_phys+0xfe00000`, `__kernel_end+0x44000` and
    /// `<_start_phys+0xfffeffffffe80000>`).
    @Suite("mmdbg symbol labels on the real kernel")
    struct SymbolLabelTests {
        @Test func addressesNoSymbolContainsGetNoLabel() throws {
            let elf = try ELFFile(path: try Tools.kernelImage())
            let pastTheImage = try elf.address(of: "__kernel_end") + 0x44000
            let hex = { (value: UInt64) in "0x" + String(value, radix: 16) }
            let run = try MmdbgBinary.run(["--json", "-ex", "sym 0x50000000", "-ex", "sym \(hex(pastTheImage))",
                                           "-ex", "break 0xffff000040080000", "-ex", "info breaks",
                                           "-ex", "sym map_page+0x10", "-ex", "sym _start_phys+0x10"])
            #expect(run.status == 1, "the two `sym` lines fail: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 6, "\(run.stdout)")
            #expect(docs[0].string("error") == "no symbol contains 0x50000000")
            #expect(docs[1].string("error") == "no symbol contains \(hex(pastTheImage))")
            #expect(docs[2].ok && docs[2].result?["symbol"] is NSNull, "no label on the breakpoint: \(docs[2])")
            let entry = try #require(docs[3].result?.array("breakpoints")?.first)
            #expect(entry["symbol"] is NSNull)
            #expect(docs[4].result?.string("symbol") == "map_page" && docs[4].result?.string("offset") == "0x10")
            #expect(docs[5].result?.string("symbol") == "_start_phys" && docs[5].result?.string("offset") == "0x10")
            let text = try MmdbgBinary.run(["-ex", "break 0xffff000040080000", "-ex", "info breaks"])
            #expect(text.stdout.contains("breakpoint 1 at 0xffff000040080000\n"), "no <label>: \(text.stdout)")
            #expect(!text.stdout.contains("<"), "\(text.stdout)")
        }

        /// Embedded Swift functions (`$e11KernelTasks11mmException…`) are shown
        /// and typed as `Module.function`, private ones without their hash.
        @Test func swiftFunctionsReadAsModuleDotName() throws {
            let elf = try ELFFile(path: try Tools.kernelImage())
            let mangled = try #require(elf.symbols.first { $0.name.hasPrefix("$e11KernelTasks11mmException") })
            let privateOne = try #require(elf.symbols.first { $0.name.hasPrefix("$e11KernelTasks20handleEL0Synchronous33_") })
            let hex = { (value: UInt64) in "0x" + String(value, radix: 16) }
            let run = try MmdbgBinary.run(["--json", "-ex", "sym \(hex(mangled.address + 8))",
                                           "-ex", "addr KernelTasks.mmException",
                                           "-ex", "sym \(hex(privateOne.address))",
                                           "-ex", "break KernelTasks.handleEL0Synchronous"])
            #expect(run.status == 0, "\(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 4, "\(run.stdout)")
            #expect(docs[0].result?.string("symbol") == "KernelTasks.mmException" && docs[0].result?.string("offset") == "0x8")
            #expect(docs[1].result?.string("address") == hex(mangled.address), "\(docs[1])")
            #expect(docs[2].result?.string("symbol") == "KernelTasks.handleEL0Synchronous")
            #expect(docs[3].ok, "\(docs[3])")
            // Not Swift, or not a plain function name: no readable form.
            #expect(SwiftSymbolNames.shortName("map_page") == nil)
            #expect(SwiftSymbolNames.shortName("$x") == nil)
            #expect(SwiftSymbolNames.shortName(mangled.name) == "KernelTasks.mmException")
        }
    }
}
