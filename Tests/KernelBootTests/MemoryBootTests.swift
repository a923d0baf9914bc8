import Testing
import Foundation
import KernelABI
import QEMULauncher
import TestSupport

/// One boot of the real kernel under the real QEMU, run to power-off.
private struct Boot {
    let status: Int32
    let output: String

    init(append: String? = nil, memory: String = "128M") throws {
        var configuration = QEMUConfiguration(kernel: try Tools.kernelImage())
        configuration.append = append
        configuration.memory = memory
        let qemu = try QEMUInstance(configuration)
        defer { qemu.stop() }
        status = try qemu.waitForExit(timeout: 30)
        output = qemu.outputText
    }

    var lines: [String] { output.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) } }

    /// The line starting with `prefix`, without the prefix.
    func line(_ prefix: String) throws -> Substring {
        let found = try #require(lines.first { $0.hasPrefix(prefix) }, "no line starting with \"\(prefix)\" in:\n\(output)")
        return found.dropFirst(prefix.count)
    }

    /// The decimal number right after `label` (or right after the prefix,
    /// if `label` is nil) in the line starting with `prefix`.
    func number(_ prefix: String, after label: String? = nil) throws -> Int {
        let rest = try line(prefix)
        var start = rest.startIndex
        if let label { start = try #require(rest.range(of: label), "no \"\(label)\" in \"\(rest)\"").upperBound }
        return try #require(Int(rest[start...].prefix { $0.isNumber }), "no number in \"\(rest)\"")
    }
}

@Suite("Kernel memory bring-up under the real QEMU", .serialized) struct MemoryBootSystemTests {
    /// pgd + pud + a pmd for the RAM GiB + a pmd for the device window GiB.
    static let topLevelTables = 4
    /// With blocks, the 2 MiB holding the kernel image is mapped with pages
    /// (W^X: text r-x, rodata r--, data rw- differ inside it): one pte table.
    static let blockModeTables = topLevelTables + 1

    @Test func defaultBootMapsRamWithBlocksAndPowersOff() throws {
        let boot = try Boot()
        #expect(boot.status == 0, "QEMU exit status; output:\n\(boot.output)")
        // Memory bring-up's lines, in this order (later boot stages add their own).
        let prefixes = [MM_BOOT_BANNER, MM_BOOT_MMU_ON, MM_BOOT_DTB, MM_BOOT_PAGE_POOL, MM_BOOT_LINEAR_MAP_OK,
                        MM_BOOT_FREE_PAGES, MM_BOOT_MM_SELF_TEST, MM_BOOT_POWER_OFF]
        let positions = prefixes.map { prefix in boot.lines.firstIndex { $0.hasPrefix(prefix) } }
        #expect(!positions.contains(nil) && positions == positions.sorted { ($0 ?? -1) < ($1 ?? -1) },
                "boot lines missing or out of order:\n\(boot.output)")
        #expect(!boot.output.contains(MM_PANIC))
        #expect(try boot.line(MM_BOOT_DTB) == "40000000: ram 0x40000000 128 MiB, psci hvc, cmdline \"\"")
        let sctlr = try #require(UInt64(try boot.line(MM_BOOT_MMU_ON), radix: 16))
        #expect(sctlr & 0b101 == 0b101, "SCTLR_EL1.M and .C set")
        #expect(try boot.line(MM_BOOT_LINEAR_MAP_OK) == "128 MiB at 0xffff000040000000 (blocks), tables=\(Self.blockModeTables)")
        try expectPoolAccounting(boot, ramMiB: 128, tables: Self.blockModeTables)
    }

    @Test func linearPagesOptionMapsEvery4KiBPage() throws {
        let boot = try Boot(append: "linear=pages")
        #expect(boot.status == 0, "\(boot.output)")
        #expect(try boot.line(MM_BOOT_DTB).hasSuffix("cmdline \"linear=pages\""))
        // One pte table per 2 MiB of RAM.
        let tables = 128 / 2 + Self.topLevelTables
        #expect(try boot.line(MM_BOOT_LINEAR_MAP_OK) == "128 MiB at 0xffff000040000000 (pages), tables=\(tables)")
        try expectPoolAccounting(boot, ramMiB: 128, tables: tables)
        #expect(boot.lines.contains(MM_BOOT_POWER_OFF))
    }

    @Test func ramSizeComesFromTheDeviceTree() throws {
        let boot = try Boot(append: "quiet linear=pages tests=none", memory: "256M")
        #expect(boot.status == 0, "\(boot.output)")
        #expect(try boot.line(MM_BOOT_DTB) == "40000000: ram 0x40000000 256 MiB, psci hvc, cmdline \"quiet linear=pages tests=none\"")
        let tables = 256 / 2 + Self.topLevelTables
        #expect(try boot.line(MM_BOOT_LINEAR_MAP_OK) == "256 MiB at 0xffff000040000000 (pages), tables=\(tables)")
        try expectPoolAccounting(boot, ramMiB: 256, tables: tables)
    }

    /// 2 GiB of RAM ends at PA 0xC0000000, beyond boot.S's 1 GiB boot
    /// blocks: the pool must not touch RAM before the kernel's own tables
    /// map it, and those need a second pmd for the second GiB.
    @Test func ramBeyondTheBootMapIsMappedWithPages() throws {
        let boot = try Boot(append: "linear=pages", memory: "2G")
        #expect(boot.status == 0, "\(boot.output)")
        let tables = 2048 / 2 + Self.topLevelTables + 1
        #expect(try boot.line(MM_BOOT_LINEAR_MAP_OK) == "2048 MiB at 0xffff000040000000 (pages), tables=\(tables)")
        try expectPoolAccounting(boot, ramMiB: 2048, tables: tables)
    }

    /// The pool spans from its base to the end of RAM; the kernel tables are
    /// the only pages still allocated after boot (the self-tests give theirs back).
    private func expectPoolAccounting(_ boot: Boot, ramMiB: Int, tables: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let pool = try boot.line(MM_BOOT_PAGE_POOL)
        let pages = try boot.number(MM_BOOT_PAGE_POOL)
        let basePA = try #require(UInt64(pool.split(separator: "0x").last ?? "", radix: 16))
        #expect(basePA > MM_KERNEL_LOAD_PA && basePA % MM_PAGE_SIZE == 0, sourceLocation: sourceLocation)
        #expect(basePA + UInt64(pages) * MM_PAGE_SIZE == MM_RAM_BASE + UInt64(ramMiB) << 20, sourceLocation: sourceLocation)
        #expect(try boot.number(MM_BOOT_FREE_PAGES) == pages - tables, sourceLocation: sourceLocation)
        #expect(try boot.number(MM_BOOT_MM_SELF_TEST, after: "free pages ") == pages - tables, sourceLocation: sourceLocation)
    }
}

/// The functions a debugger breaks on or forces to fail must be real,
/// out-of-line functions with plain names that their callers really call.
@Suite("Kernel ELF symbols") struct KernelSymbolSystemTests {
    /// mm functions the part-1 boot path already reaches (the EL0 fault
    /// entries join once the exception routing of part 2 calls them).
    static let bootReachable = ["get_free_page", "free_page", "map_table", "map_page", "allocate_user_page",
                                "copy_virt_memory", "unmap_user_range", "check_and_prefault_user_range",
                                "copy_from_user", "copy_to_user"]
    /// Reached only from part 2's EL0 exception routing.
    static let faultEntries = ["do_data_abort", "do_instruction_abort", "do_el0_sync_fault"]

    @Test func mmFunctionsHavePlainSymbolsAndAreCalledByName() throws {
        let kernel = try Tools.kernelImage()
        let objdump = try Tools.require("llvm-objdump", package: "llvm")
        let disassembly = try run(objdump, ["-d", "--no-show-raw-insn", kernel])
        for name in Self.bootReachable + Self.faultEntries {
            #expect(disassembly.range(of: #"\$e\d+\#(name)T"#, options: .regularExpression) == nil,
                    "\(name) has a specialised clone: callers may bypass the plain symbol")
        }
        for name in Self.bootReachable {
            #expect(disassembly.contains("<\(name)>:\n"), "\(name) is not a function in the image")
            #expect(disassembly.range(of: #"\bbl\s+0x[0-9a-f]+ <\#(name)>"#, options: .regularExpression) != nil,
                    "nobody calls \(name) by its symbol (inlined?)")
        }
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(tool, arguments, timeout: 60).stdout
    }
}
