import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `bt` across the kernel's exception entry: the interrupted context's frames, read from the
    /// saved trap frame, and EL0 frames named from the user program's own ELF. The EL0 names and
    /// lines are checked against gdb-multiarch reading that ELF by itself (gdb's own backtrace
    /// stops at the vectors), and the unwinding by the instruction before each return address.
    @Suite("bt crosses the exception boundary into EL0")
    struct ExceptionBacktraceSystemTests {
        struct Frame {
            var function: String
            var rawFunction: String
            var pc: UInt64
            var line: Int?
            var boundary: String?
            var program: String?
            var inlined: Bool
        }

        /// A session stopped at the `hit`-th stop of `symbol` that `accept` takes (at most `tries` stops).
        static func stopped(at symbol: String, tries: Int = 1, accept: (([Frame]) -> Bool)? = nil,
                            _ body: (Session, [Frame]) throws -> Void) throws {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            try #require(session.execute(line: "break \(symbol)").succeeded)
            for attempt in 1...tries {
                let stop = session.execute(line: "continue --timeout 30")
                try #require(stop.succeeded, "continue: \(String(describing: stop.error))")
                let frames = try backtrace(session)
                if accept?(frames) ?? true { return try body(session, frames) }
                try #require(attempt < tries, "no stop at \(symbol) in \(tries) tries was the one wanted; last bt: \(frames.map(\.function))")
            }
        }

        static func backtrace(_ session: Session) throws -> [Frame] {
            let bt = session.execute(line: "bt")
            guard case .success(let output) = bt.outcome else {
                struct Failed: Error, CustomStringConvertible { var description: String }
                throw Failed(description: "bt failed: \(String(describing: bt.error))")
            }
            let document = try #require(try JSONSerialization.jsonObject(with: Data(output.json.serialized().utf8)) as? [String: Any])
            return (document.array("frames") ?? []).map { frame in
                Frame(function: frame.string("function") ?? "??", rawFunction: frame.string("rawFunction") ?? "??",
                      pc: frame.address("pc") ?? 0, line: frame["line"] as? Int, boundary: frame.string("boundary"),
                      program: frame.string("program"), inlined: frame["inlined"] as? Bool ?? false)
            }
        }

        /// gdb-multiarch on the user program alone: (function symbol, line) at each address.
        static func gdbView(of program: String, at addresses: [UInt64]) throws -> [(symbol: String, line: Int?)] {
            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let marker = "@@user@@"
            // -readnow: without it gdb trusts .debug_aranges, which do not cover the Swift units,
            // and answers "No line number information" for Swift code.
            var arguments = ["-batch", "-nx", "-readnow", "-ex", "set pagination off", "-ex", "file \(program)"]
            for address in addresses {
                arguments += ["-ex", "echo \(marker)\\n", "-ex", "info symbol \(Hex.format(address))",
                              "-ex", "info line *\(Hex.format(address))"]
            }
            arguments += ["-ex", "echo \(marker)\\n"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            let pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst().dropLast())
            try #require(pieces.count == addresses.count, "gdb printed:\n\(result.combined)")
            return pieces.map { piece in
                let symbol = piece.firstMatch(of: /^(\S+) \+ \d+ in section/.anchorsMatchLineEndings())
                    ?? piece.firstMatch(of: /^(\S+) in section/.anchorsMatchLineEndings())
                let line = piece.firstMatch(of: /Line (\d+) of/).flatMap { Int($0.1) }
                return (symbol.map { String($0.1) } ?? "??", line)
            }
        }

        static var userProgram: String {
            URL(fileURLWithPath: KernelImage.defaultPath()).deletingLastPathComponent().appendingPathComponent("user/Init.elf").path
        }

        /// Checks the EL0 part of `frames` against gdb on the program's ELF, and that every
        /// caller's return address follows a `bl` into its callee.
        static func checkUserFrames(_ frames: [Frame], session: Session, firstLookupIsExact: Bool) throws {
            let start = try #require(frames.firstIndex { $0.boundary != nil })
            let user = Array(frames[start...])
            #expect(user.allSatisfy { $0.program == "init" }, "\(user.map { ($0.function, $0.program) })")
            #expect(user.last?.function == "_start", "the user backtrace ends at _start: \(user.map(\.function))")
            // One machine frame = its inlined frames (innermost first), then the function they are inlined into.
            var groups: [[Frame]] = [[]]
            for frame in user {
                groups[groups.count - 1].append(frame)
                if !frame.inlined { groups.append([]) }
            }
            groups.removeAll { $0.isEmpty }
            let machine = groups.map { $0.last! }
            let lookups = machine.enumerated().map { index, frame in index == 0 && firstLookupIsExact ? frame.pc : frame.pc - 1 }
            let gdb = try gdbView(of: userProgram, at: lookups)
            for (group, theirs) in zip(groups, gdb) {
                // gdb's `info symbol` names the out-of-line function; `info line` the innermost line.
                let frame = group.last!, innermost = group.first!
                #expect(readable(frame.rawFunction) == readable(theirs.symbol),
                        "function at \(Hex.format(frame.pc)): mmdbg \(frame.rawFunction) gdb \(theirs.symbol)")
                #expect(innermost.line == theirs.line, "line at \(Hex.format(frame.pc)) (\(innermost.function)): mmdbg \(String(describing: innermost.line)) gdb \(String(describing: theirs.line))")
            }
            // Each caller's PC is a return address: the instruction before it is a call (`bl`, or `blr` for a closure).
            for caller in machine.dropFirst() {
                let bytes = try session.readVirtualMemory(at: caller.pc - 4, count: 4)
                let word = bytes.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                let isCall = word >> 26 == 0b100101 || word & 0xFFFF_FC1F == 0xD63F_0000
                #expect(isCall, "\(Hex.format(caller.pc - 4)) in \(caller.function) is not a call: \(Hex.format(UInt64(word)))")
            }
        }

        static func readable(_ name: String) -> String { SwiftSymbolNames.shortName(name) ?? SwiftSymbolNames.closureName(name) ?? name }

        @Test func aSyscallsBacktraceNamesTheUserCallerAndItsLine() throws {
            try Self.stopped(at: "sys_brk") { session, frames in
                let boundary = try #require(frames.firstIndex { $0.boundary != nil }, "\(frames.map(\.function))")
                #expect(frames[boundary].boundary == "exception: SVC from EL0")
                #expect(frames[..<boundary].allSatisfy { $0.program == nil && $0.pc >> 48 == 0xffff })
                #expect(frames[boundary].function == "mm_sys_brk", "the svc wrapper: \(frames[boundary])")
                // The wrapper's caller is Swift code of the program, with a line.
                #expect(frames[boundary + 1].line != nil && frames[boundary + 1].function != "??")
                try Self.checkUserFrames(frames, session: session, firstLookupIsExact: false)
                // The text shows the marker as a row of its own.
                guard case .success(let output) = session.execute(line: "bt").outcome else { Issue.record("bt"); return }
                #expect(TextRenderer(colour: false).render(output).contains("<exception: SVC from EL0>"))
            }
        }

        @Test func aDataAbortFromEL0ShowsTheFaultingInstructionsFunction() throws {
            try Self.stopped(at: "do_data_abort") { session, frames in
                let boundary = try #require(frames.firstIndex { $0.boundary != nil }, "\(frames.map(\.function))")
                #expect(frames[boundary].boundary == "exception: data abort from EL0")
                try Self.checkUserFrames(frames, session: session, firstLookupIsExact: true)
            }
        }

        @Test func anIRQTakenAtEL0ContinuesIntoTheInterruptedProgram() throws {
            // The timer fires in the idle loop too: stop until one came from EL0.
            try Self.stopped(at: "preempt_tick", tries: 40, accept: { frames in
                frames.contains { $0.boundary == "irq" } && frames.last?.program == "init"
            }) { session, frames in
                let boundary = try #require(frames.firstIndex { $0.boundary != nil })
                #expect(frames[boundary].boundary == "irq")
                #expect(frames[..<boundary].contains { $0.function == "preempt_tick" })
                try Self.checkUserFrames(frames, session: session, firstLookupIsExact: true)
            }
        }
    }
}
