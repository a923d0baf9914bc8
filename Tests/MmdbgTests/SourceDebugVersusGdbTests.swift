import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// mmdbg's `bt`, `x/20i $pc` and `info line *$pc` against gdb-multiarch's on the same stop of the
    /// same QEMU: mmdbg stops the kernel, reads, and closes its connection without
    /// detaching (QEMU stays paused), then gdb attaches and prints its view.
    @Suite("bt and x/i beside gdb-multiarch on the same stop")
    struct SourceDebugVersusGdbSystemTests {
        /// One frame as both debuggers name it: function (demangled), line, and the PC where gdb prints one.
        struct Frame: Equatable, CustomStringConvertible {
            var function: String
            var line: Int?
            var pc: UInt64?
            var description: String {
                "\(function):\(line.map(String.init) ?? "?")" + (pc.map { "@" + String($0, radix: 16) } ?? "")
            }
        }

        struct Views {
            var mmdbgFrames: [Frame]
            var gdbFrames: [Frame]
            var mmdbgInstructions: [String]
            var gdbInstructions: [String]
            var gdbText: String
            /// `info line *$pc`: (line, start, end) from each side.
            var mmdbgLine: (Int, UInt64, UInt64)?
            var gdbLine: (Int, UInt64, UInt64)?
            /// pc and sp of frame 1 (`frame 1` then `regs pc sp` / `info registers pc sp`).
            var mmdbgCaller: [UInt64]
            var gdbCaller: [UInt64]
            /// mmdbg's report of the stop (`breakpoint 1: stopped at sys_fork task 3` …).
            var stopLine: String
        }

        /// Instructions disassembled at each stop, by both.
        static let instructionCount = 200

        static func readable(_ name: String) -> String { SwiftSymbolNames.shortName(name) ?? name }

        /// `#1  0xffff… in allocate_user_page (t=…) at /path/File.swift:172` and
        /// `#0  map_page (t=…) at …:137`; frames without line information end in `()` or `from …`.
        static func parseGdbBacktrace(_ text: String) -> [Frame] {
            text.split(separator: "\n").compactMap { line -> Frame? in
                guard let head = line.firstMatch(of: /^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+)/) else { return nil }
                let pc = head.2.flatMap { UInt64($0.dropFirst(2), radix: 16) }
                let lineNumber = line.firstMatch(of: /\sat \S+:(\d+)$/).flatMap { Int($0.1) }
                return Frame(function: readable(String(head.3)), line: lineNumber, pc: pc)
            }
        }

        /// Stops at the `hit`-th hit of `symbol` and reads both debuggers' views there.
        static func views(stoppingAt symbol: String, hit: Int = 1) throws -> Views {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: address)
            var stopLine = ""
            for line in ["break \(symbol)"] + Array(repeating: "continue --timeout 30", count: hit) + ["delete"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
                if line.hasPrefix("continue"), case .success(let output) = result.outcome {
                    stopLine = TextRenderer(colour: false).render(output)
                }
            }
            let bt = session.execute(line: "bt")
            let x = session.execute(line: "x/\(instructionCount)i $pc")
            let infoLine = session.execute(line: "info line *$pc")
            _ = session.execute(line: "frame 1")
            let callerRegs = session.execute(line: "regs pc sp")
            guard case .success(let btOutput) = bt.outcome, case .success(let xOutput) = x.outcome else {
                struct Failed: Error, CustomStringConvertible { var description: String }
                throw Failed(description: "bt: \(String(describing: bt.error)); x/20i: \(String(describing: x.error))")
            }
            // Close without `D`: QEMU stays paused for gdb.
            session.target?.close()

            func document(_ value: JSONValue) throws -> [String: Any] {
                try #require(try JSONSerialization.jsonObject(with: Data(value.serialized().utf8)) as? [String: Any])
            }
            let mmdbgFrames = (try document(btOutput.json).array("frames") ?? []).map { frame in
                Frame(function: readable(frame.string("rawFunction") ?? frame.string("function") ?? "??"),
                      line: frame["line"] as? Int, pc: frame.address("pc"))
            }
            var mmdbgLine: (Int, UInt64, UInt64)?
            if case .success(let lineOutput) = infoLine.outcome, let range = try document(lineOutput.json).array("ranges")?.first,
               let line = range["line"] as? Int, let start = range.address("start"), let end = range.address("end") {
                mmdbgLine = (line, start, end)
            }
            var mmdbgCaller: [UInt64] = []
            if case .success(let regsOutput) = callerRegs.outcome {
                mmdbgCaller = (try document(regsOutput.json).array("registers") ?? []).compactMap { $0.address("value") }
            }
            let mmdbgInstructions = (try document(xOutput.json).array("instructions") ?? []).map { instruction in
                GdbDisassemblyText.normalise((instruction.string("mnemonic") ?? "") + " " + (instruction.string("operands") ?? ""))
            }

            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let marker = "@@source-debug@@"
            var arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
                             "-ex", "file \(kernel)", "-ex", "target remote \(address)"]
            for command in ["bt", "x/\(instructionCount)i $pc", "info line *$pc", "frame 1", "info registers pc sp"] { arguments += ["-ex", "echo \(marker)\\n", "-ex", command] }
            arguments += ["-ex", "echo \(marker)\\n"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            let pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst().dropLast())
            try #require(pieces.count == 5, "gdb printed:\n\(result.combined)")
            let gdbCaller = pieces[4].split(separator: "\n").compactMap { line -> UInt64? in
                guard let m = line.firstMatch(of: /^(?:pc|sp)\s+(0x[0-9a-f]+)/) else { return nil }
                return UInt64(m.1.dropFirst(2), radix: 16)
            }
            var gdbLine: (Int, UInt64, UInt64)?
            if let m = pieces[2].firstMatch(of: /Line (\d+) of "[^"]+"\s+starts at address (0x[0-9a-f]+).*? and ends at (0x[0-9a-f]+)/) {
                gdbLine = (Int(m.1)!, UInt64(m.2.dropFirst(2), radix: 16)!, UInt64(m.3.dropFirst(2), radix: 16)!)
            }
            let gdbInstructions = pieces[1].split(separator: "\n").compactMap { GdbDisassemblyText.instruction(inGdbLine: String($0)) }
                .map(GdbDisassemblyText.normalise)
            return Views(mmdbgFrames: mmdbgFrames, gdbFrames: parseGdbBacktrace(pieces[0]),
                         mmdbgInstructions: mmdbgInstructions, gdbInstructions: gdbInstructions, gdbText: pieces[0],
                         mmdbgLine: mmdbgLine, gdbLine: gdbLine, mmdbgCaller: mmdbgCaller, gdbCaller: gdbCaller,
                         stopLine: stopLine)
        }

        @Test func aLineBreakpointStopsOnItsLine() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            let file = "Sources/KernelCore/MM/UserPageTables.swift"
            let function = try KernelSourceLines.find("public func allocate_user_page", in: file).number
            let mapLine = try KernelSourceLines.find("map_page(t, uva, physPage, flags)", in: file, after: function)
            let set = session.execute(line: "break UserPageTables.swift:\(mapLine.number)")
            try #require(set.succeeded, "\(String(describing: set.error))")
            let stop = session.execute(line: "continue --timeout 30")
            guard case .success(let output) = stop.outcome, case .object(let fields) = output.json,
                  case .object(let source)? = fields.first(where: { $0.0 == "source" })?.1 else {
                Issue.record("no source in the stop: \(stop.outcome)")
                return
            }
            #expect(source.first { $0.0 == "line" }?.1 == .int(Int64(mapLine.number)))
            #expect(source.first { $0.0 == "function" }?.1 == .string("allocate_user_page"))
            let text = TextRenderer(colour: false).render(output)
            #expect(text.hasPrefix("breakpoint 1: stopped at allocate_user_page+0x"), "\(text)")
            #expect(text.contains("\n\(mapLine.number)\t\(mapLine.text)"), "\(text)")
            let moved = session.execute(line: "tbreak UserPageTables.swift:\(function - 1)")
            guard case .success(let movedOutput) = moved.outcome else { Issue.record("\(moved.outcome)"); return }
            #expect(TextRenderer(colour: false).render(movedOutput).contains("line \(function - 1) has no code, so line \(function)"))
        }

        /// Seventeen stops: system calls, the exception path, fault handlers, the page allocator,
        /// the timer IRQ (taken at EL0 or in the idle loop) and a fork made by a forked child.
        static let stops: [(symbol: String, hit: Int)] = [
            ("sys_fork", 1), ("sys_fork", 2), ("sys_brk", 1), ("sys_write", 1), ("sys_wait", 1), ("sys_exit", 1),
            ("map_page", 1), ("allocate_user_page", 1), ("get_free_page", 1), ("free_page", 1), ("copy_process", 1),
            ("KernelTasks.mmException", 1), ("KernelTasks.handleEL0Synchronous", 1), ("do_el0_sync_fault", 1),
            ("do_data_abort", 1), ("do_instruction_abort", 1), ("preempt_tick", 1),
        ]

        @Test(arguments: stops.map { "\($0.symbol)#\($0.hit)" })
        func backtraceAndInstructionsMatchGdb(stop: String) throws {
            let parts = stop.split(separator: "#")
            let views = try Self.views(stoppingAt: String(parts[0]), hit: Int(parts[1])!)
            // gdb's backtrace ends at the exception vectors; mmdbg's goes on into the interrupted
            // context (ExceptionBacktraceSystemTests checks that part), so compare the frames gdb shows.
            if stop == "sys_fork#2" {
                // The second fork is made by a forked child (init is task 1).
                let task = views.stopLine.firstMatch(of: /\stask (\d+)/).flatMap { Int($0.1) }
                #expect(task != nil && task != 1, "\(views.stopLine)")
            }
            let count = views.gdbFrames.count
            try #require(count >= 2, "gdb bt:\n\(views.gdbText)")
            #expect(views.mmdbgFrames.count >= count, "mmdbg \(views.mmdbgFrames) gdb \(views.gdbFrames)")
            for (ours, theirs) in zip(views.mmdbgFrames, views.gdbFrames) {
                #expect(ours.function == theirs.function, "mmdbg \(views.mmdbgFrames)\ngdb \(views.gdbFrames)\n\(views.gdbText)")
                if let line = theirs.line { #expect(ours.line == line, "line of \(theirs.function): mmdbg \(ours) gdb \(theirs)") }
                if let pc = theirs.pc { #expect(ours.pc == pc, "pc of \(theirs.function): mmdbg \(ours) gdb \(theirs)") }
            }
            #expect(views.gdbInstructions.count == Self.instructionCount)
            let differences = zip(views.mmdbgInstructions, views.gdbInstructions).enumerated().filter { $0.element.0 != $0.element.1 }
            #expect(views.mmdbgInstructions.count == views.gdbInstructions.count && differences.isEmpty,
                    "\(differences.count) of \(views.gdbInstructions.count) differ, first: \(differences.prefix(3).map { "#\($0.offset) mmdbg `\($0.element.0)` gdb `\($0.element.1)`" })")
            let gdbLine = try #require(views.gdbLine, "gdb has a line for the stop")
            let ours = try #require(views.mmdbgLine, "mmdbg has a line for the stop")
            #expect(ours == gdbLine, "info line *$pc: mmdbg \(ours) gdb \(gdbLine)")
            #expect(views.gdbCaller.count == 2)
            #expect(views.mmdbgCaller == views.gdbCaller, "frame 1 pc, sp: mmdbg \(views.mmdbgCaller) gdb \(views.gdbCaller)")
        }
    }
}
