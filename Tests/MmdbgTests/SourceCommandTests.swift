import DebugInfo
import Foundation
import MmdbgCore
import QEMULauncher
import SessionTestSupport
import Testing

/// The source-level commands without a target: the kernel's ELF and DWARF only
/// (code bytes come from the file), and the DebugInfo service replaced by a double.
@Suite struct SourceCommandTests {
    static let pageTables = "Sources/KernelCore/MM/UserPageTables.swift"

    static func kernelSession(services: SessionServices = .standard) throws -> Session {
        let path = KernelImage.defaultPath()
        try #require(FileManager.default.fileExists(atPath: path), "run scripts/build-kernel.sh")
        let session = Session(services: services)
        session.symbols = try ELFSymbolTable(path: path)
        return session
    }

    static func text(_ result: CommandResult) -> String {
        guard case .success(let output) = result.outcome else { return "error: \(String(describing: result.error))" }
        return TextRenderer(colour: false).render(output)
    }

    @Test func disasOfAFunctionWithoutATargetReadsTheELF() throws {
        let session = try Self.kernelSession()
        let result = session.execute(line: "disas allocate_user_page --source")
        let text = Self.text(result)
        #expect(result.succeeded, "\(text)")
        #expect(text.contains("<allocate_user_page>:\tstp\tx29, x30"))
        #expect(text.contains("bl\t0xffff") && text.contains("<get_free_page>"), "branch targets as symbols: \(text)")
        let physPage = try KernelSourceLines.find("let physPage = get_free_page()", in: Self.pageTables,
                                                   after: try KernelSourceLines.find("public func allocate_user_page", in: Self.pageTables).number)
        #expect(text.contains("UserPageTables.swift:\(physPage.number)\t    let physPage = get_free_page()"))
        #expect(!text.contains("=>"), "no PC without a target")
        guard case .success(let output) = result.outcome, case .object(let fields) = output.json,
              case .array(let instructions)? = fields.first(where: { $0.0 == "instructions" })?.1 else {
            Issue.record("no instructions in the JSON")
            return
        }
        #expect(instructions.count > 10)
    }

    @Test func infoLineAndListFindTheSource() throws {
        let session = try Self.kernelSession()
        let function = try KernelSourceLines.find("public func allocate_user_page", in: Self.pageTables).number
        let physPage = try KernelSourceLines.find("let physPage = get_free_page()", in: Self.pageTables, after: function).number
        let line = Self.text(session.execute(line: "info line allocate_user_page"))
        #expect(line.hasPrefix("Line \(function) of \"") && line.contains("starts at address 0xffff") && line.contains("<allocate_user_page>"), "\(line)")
        let byFile = Self.text(session.execute(line: "info line UserPageTables.swift:\(physPage)"))
        #expect(byFile.contains("Line \(physPage) of") && byFile.contains("<allocate_user_page+0x"), "\(byFile)")
        let noCode = Self.text(session.execute(line: "info line UserPageTables.swift:1"))
        #expect(noCode.contains("has no code; the next line with code is"), "\(noCode)")
        let list = Self.text(session.execute(line: "list allocate_user_page"))
        #expect(list.contains("=> \(function)\tpublic func allocate_user_page"), "\(list)")
        let next = Self.text(session.execute(line: "list"))
        #expect(next.contains("   \(function + 5)\t"), "a second `list` goes on: \(next)")
        let missing = session.execute(line: "list NoSuchFile.swift:3")
        #expect(missing.error?.description == "list: no source file \"NoSuchFile.swift\" in the line tables")
    }

    @Test func aFailingDebugInfoServiceIsOneLineAndSymbolsStillWork() throws {
        var services = SessionServices.standard
        services.loadDebugInfo = { path throws(DebugInfoError) in throw .corrupt("test double: \(path) is unreadable") }
        let session = try Self.kernelSession(services: services)
        let result = session.execute(line: "disas map_page")
        #expect(result.error.map { "\($0)".hasPrefix("disas: unreadable DWARF: test double:") } == true, "\(String(describing: result.error))")
        #expect(!"\(result.error!)".contains("\n"))
        #expect(session.execute(line: "sym map_page").succeeded)
        #expect(session.execute(line: "bt").error != nil)
    }

    @Test func xSlashIParsesLikeTheOtherFormats() throws {
        let session = try Self.kernelSession()
        // Without a target `x` refuses, as for every format; /i is not an unknown format.
        let result = session.execute(line: "x/4i map_page")
        #expect(result.error.map { "\($0)".contains("unknown format") } == false)
        #expect(session.execute(line: "x/4i map_page --phys").error.map { "\($0)".contains("/i reads virtual memory only") } == true)
    }
}

/// A kernel ELF whose DWARF is hidden (its `.debug_*` sections renamed, as if stripped).
@Suite struct NoDWARFCommandTests {
    @Test func disassemblyStillWorksWithANoteAndSourceCommandsSayWhy() throws {
        let original = KernelImage.defaultPath()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
        let pattern = Array(".debug_".utf8)
        var i = 0
        while i + pattern.count <= bytes.count {
            if bytes[i] == 0x2e && Array(bytes[i..<i + pattern.count]) == pattern { bytes[i + 1] = UInt8(ascii: "n") }
            i += 1
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-nodwarf-\(getpid()).elf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = Session()
        session.symbols = try ELFSymbolTable(path: path)
        let disas = session.execute(line: "disas sys_fork")
        let text = SourceCommandTests.text(disas)
        #expect(disas.succeeded, "\(text)")
        #expect(text.hasPrefix("note: no DWARF"), "\(text)")
        #expect(text.contains("<sys_fork>:\t"))
        let list = session.execute(line: "list map_page")
        #expect(list.error?.description == "list: \(path) has no DWARF debug information")
    }
}

@Suite struct SourceCompletionTests {
    @Test func locationsCompleteFunctionsAndSourceFiles() throws {
        let session = try SourceCommandTests.kernelSession()
        let files = try #require(CompletionEngine.candidates(for: "UserPage", lineBeforeWord: "break ", session: session))
        #expect(files == ["UserPageTables.swift:"])
        let functions = try #require(CompletionEngine.candidates(for: "allocate_u", lineBeforeWord: "list ", session: session))
        #expect(functions == ["allocate_user_page"])
        let paths = try #require(CompletionEngine.candidates(for: "Sources/KernelCore/MM/Pag", lineBeforeWord: "info line ", session: session))
        #expect(paths.contains("Sources/KernelCore/MM/PageAllocator.swift:"), "\(paths)")
        #expect(CompletionEngine.candidates(for: "$p", lineBeforeWord: "break ", session: session) == ["$pc"])
    }
}
