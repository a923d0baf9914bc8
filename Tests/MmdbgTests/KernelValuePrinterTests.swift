import Foundation
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `print`'s kernel printer on the real kernel: what it says agrees with the task views'
    /// own decoding (`task PID`, `check`) at the same stop, and `/r` and `/x` bypass it.
    @Suite("kernel pretty-printers against the task views at the same stop")
    struct KernelValuePrinterSystemTests {
        @Test func printedMeaningsAgreeWithTheTaskViews() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(QEMUConfiguration.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            defer { session.end() }
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            // The second sys_brk: init has code, data and stack pages.
            for line in ["break sys_brk", "continue --timeout 30", "continue --timeout 30", "delete"] {
                try #require(session.execute(line: line).succeeded, "\(line)")
            }
            func text(_ line: String) throws -> String {
                let result = session.execute(line: line)
                guard case .success(let output) = result.outcome else { throw MmdbgBinary.Failure(description: "\(line): \(String(describing: result.error))") }
                // Without print's value-history number (`$3 = `).
                return TextRenderer(colour: false).render(output).trimmingCharacters(in: .whitespacesAndNewlines)
                    .replacing(#/^\$\d+ = /#, with: "")
            }
            func json(_ line: String) throws -> [String: Any] {
                let result = session.execute(line: line)
                guard case .success(let output) = result.outcome,
                      let object = try JSONSerialization.jsonObject(with: Data(output.json.serialized().utf8)) as? [String: Any] else {
                    throw MmdbgBinary.Failure(description: "\(line): \(String(describing: result.error))")
                }
                return object
            }
            let pid = try #require(Int(try text("print/r mm_current->pid")))
            let task = try json("task \(pid)")
            let state = try #require(task.string("state"))
            let rawState = try text("print/r mm_current->state")
            #expect(try text("print mm_current->state") == "\(state) (\(rawState))")
            #expect(try text("print/x mm_current->state") == "0x\(rawState)")
            #expect(try text("print mm_current->name") == "\"\(try #require(task.string("name")))\"")

            // user_pages: exactly the slots the task view lists, each PA an allocated page, flags decoded as vtop does.
            let pages = try #require(task.array("userPageList"))
            #expect(pages.count >= 3, "\(pages)")
            let shown = try text("print mm_current->mm.user_pages")
            #expect(shown.hasSuffix("(\(pages.count) of 64 slots used)"), "\(shown)")
            for page in pages {
                let slot = try #require(page["slot"] as? Int), pa = try #require(page.string("pa"))
                #expect(shown.contains("[\(slot)] = {pa = \(pa) <allocated page>"), "slot \(slot) \(pa): \(shown)")
            }
            let kernelPages = try #require(task["kernelPageList"] as? [String])
            #expect(try text("print mm_current->mm.kernel_pages").hasSuffix("(\(kernelPages.count) of 64 slots used)"))
            #expect(try text("print mm_current->mm.pgd").hasSuffix("<allocated page>"))
            #expect(try text("print mm_pool.free_list").hasSuffix("<free page>"))
            #expect(try text("print mm_pool.base_pa - 4096") != "", "an integer outside any struct is left alone")
            #expect(try text("print/r mm_current->mm.pgd") == String(try #require(UInt64(try text("print/x mm_current->mm.pgd").dropFirst(2), radix: 16))))

            // print/pte on the first user page's flags | pa: the page reading has the PA and vtop's attributes.
            let first = pages[0]
            let firstSlot = try #require(first["slot"] as? Int), firstVA = try #require(first.string("va"))
            let leaf = try text("print/pte mm_current->mm.user_pages[\(firstSlot)].flags | mm_current->mm.user_pages[\(firstSlot)].pa")
            let vtop = try text("vtop \(firstVA) --pid \(pid)")
            let attributes = try #require(vtop.split(separator: "\n").first?.components(separatedBy: "  ").last, "\(vtop)")
            #expect(leaf.contains("as a level-3 page: output \(first.string("pa")!) <allocated page> size 0x1000  \(attributes)"),
                    "\(leaf)\nvtop: \(vtop)")
            #expect(try text("print/pte 0").contains("invalid (bit 0 clear)"))

            // At one stop, repeated prints are served from the session's caches: no stub round trip.
            let client = try #require((session.target as? GdbTarget)?.client)
            _ = try text("print *mm_current")
            let exchanges = client.traffic.exchanges
            _ = try text("print *mm_current")
            _ = try text("print mm_current->mm.user_pages")
            _ = try text("print mm_current->name")
            #expect(client.traffic.exchanges == exchanges, "\(client.traffic.exchanges - exchanges) round trips for prints already cached")

            // set var refuses what the kernel maps read-only at EL1 (its const mm_layout in .rodata, its text)
            // in one line naming the mapping, and leaves it as it was.
            let version = try text("print mm_layout.version")
            let rodata = session.execute(line: "set var mm_layout.version = 99")
            #expect(!rodata.succeeded && "\(String(describing: rodata.error))".contains("is read-only (k:r--"), "\(String(describing: rodata.error))")
            #expect(try text("print mm_layout.version") == version)
            let code = try text("x/1wx map_page")
            let textWrite = session.execute(line: "set var *(int *)&map_page = 0")
            #expect(!textWrite.succeeded && "\(String(describing: textWrite.error))".contains("is read-only (k:r-x"), "\(String(describing: textWrite.error))")
            #expect(try text("x/1wx map_page") == code)
            let refused = session.execute(line: "print/pte mm_current->mm")
            #expect(!refused.succeeded && "\(String(describing: refused.error))".contains("not a 64-bit value"))
        }
    }
}
