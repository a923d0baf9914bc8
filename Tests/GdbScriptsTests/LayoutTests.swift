import Foundation
import KernelABI
import Testing
import TestSupport

/// Runs scripts/gen-gdb-layout with `arguments`; returns (status, stdout, stderr).
func runLayoutGenerator(_ arguments: String...) throws -> (Int32, String, String) {
    let python = try Tools.require("python3", package: "python3")
    let root = try GdbBatch.packageRoot()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [root.appendingPathComponent("scripts/gen-gdb-layout").path] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // The generator compiles one small C file; its own subprocess calls have 60 s deadlines.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// `"member": (offset, size, count, "kind"),` lines of one struct in gdb/mmdbg_layout.py.
func generatedMembers(of structName: String, in text: String) -> [String: (offset: Int, size: Int, count: Int)] {
    var members: [String: (Int, Int, Int)] = [:]
    var inside = false
    for line in text.split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("\"\(structName)\": (") { inside = true; continue }
        if inside && trimmed.hasPrefix("}),") { break }
        guard inside, let open = trimmed.firstIndex(of: "("), trimmed.hasPrefix("\"") else { continue }
        let name = String(trimmed.dropFirst().prefix { $0 != "\"" })
        let numbers = trimmed[trimmed.index(after: open)...].split(separator: ",").prefix(3)
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if numbers.count == 3 { members[name] = (numbers[0], numbers[1], numbers[2]) }
    }
    return members
}

@Suite("gdb/mmdbg_layout.py is generated from kernel_abi.h")
struct LayoutSystemTests {
    @Test func committedLayoutMatchesTheHeader() throws {
        let (status, stdout, stderr) = try runLayoutGenerator("--check")
        #expect(status == 0, "gdb/mmdbg_layout.py drifted from kernel_abi.h (run scripts/gen-gdb-layout):\n\(stdout)\(stderr)")
    }

    @Test func generatedOffsetsAgreeWithSwiftsImportOfTheHeader() throws {
        let (status, text, stderr) = try runLayoutGenerator("--stdout")
        try #require(status == 0, "\(stderr)")
        let task = generatedMembers(of: "mm_task", in: text)
        let mm = generatedMembers(of: "mm_struct", in: text)
        let page = generatedMembers(of: "mm_user_page", in: text)
        let ring = generatedMembers(of: "mm_log_ring", in: text)
        #expect(task["mm"]?.offset == MemoryLayout<mm_task>.offset(of: \.mm))
        #expect(task["pid"]?.offset == MemoryLayout<mm_task>.offset(of: \.pid))
        #expect(task["state"]?.offset == MemoryLayout<mm_task>.offset(of: \.state))
        #expect(task["name"]?.offset == MemoryLayout<mm_task>.offset(of: \.name))
        #expect(task["name"]?.count == Int(MM_TASK_NAME_LEN))
        #expect(task["trap_frame"]?.offset == MemoryLayout<mm_task>.offset(of: \.trap_frame))
        #expect(mm["user_pages"]?.offset == MemoryLayout<mm_struct>.offset(of: \.user_pages))
        #expect(mm["user_pages"]?.size == MemoryLayout<mm_user_page>.size)
        #expect(mm["user_pages"]?.count == Int(MM_MAX_PAGE_COUNT))
        #expect(mm["brk"]?.offset == MemoryLayout<mm_struct>.offset(of: \.brk))
        #expect(page["flags"]?.offset == MemoryLayout<mm_user_page>.offset(of: \.flags))
        #expect(ring["buf"]?.offset == Int(mm_abi_offsetof_log_buf()))
        #expect(text.contains("\"mm_task\": (\(MemoryLayout<mm_task>.size), {"), "sizeof(struct mm_task)")
        #expect(text.contains("MM_LINEAR_MAP_BASE = 0xffff000000000000"))
        #expect(text.contains("MM_MARK_OOM = \"\(MM_MARK_OOM)\""))
    }

    @Test func aChangedHeaderIsReportedAsDrift() throws {
        // The check must be able to fail: a stale copy of the file makes it exit 1 with a diff.
        // (A copy, not the committed file: other tests load gdb/ at the same time.)
        let root = try GdbBatch.packageRoot()
        let original = try String(contentsOf: root.appendingPathComponent("gdb/mmdbg_layout.py"), encoding: .utf8)
        let stale = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg_layout-\(UUID().uuidString).py")
        try Data(original.replacingOccurrences(of: "MM_NR_TASKS = ", with: "MM_NR_TASKS = 1 + ").utf8).write(to: stale)
        defer { try? FileManager.default.removeItem(at: stale) }
        let (status, stdout, stderr) = try runLayoutGenerator("--check", stale.path)
        #expect(status == 1)
        #expect(stdout.contains("-MM_NR_TASKS = 1 + ") && stderr.contains("drifted"), "\(stdout)\(stderr)")
    }
}
