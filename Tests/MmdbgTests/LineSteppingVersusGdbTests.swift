import DebugInfo
import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `step`/`next` by line, `break FUNCTION`, `tbreak`, `until` and `advance` on the real kernel,
    /// beside gdb-multiarch. A step moves the guest, so the two debuggers cannot take turns on one
    /// stop: each boots its own QEMU (same kernel, same `-icount`), stops at the same address's first
    /// hit, and runs the same commands; the landing function and line of every command are compared.
    @Suite("step/next/break FUNCTION beside gdb-multiarch")
    struct LineSteppingVersusGdbSystemTests {
        struct Landing: Equatable, CustomStringConvertible {
            var function: String
            var line: Int?
            var description: String { "\(function):\(line.map(String.init) ?? "?")" }
        }

        static func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
            guard case .object(let fields)? = value else { return nil }
            return fields.first { $0.0 == key }?.1
        }

        /// mmdbg: `break STOP`, `continue`, `delete`, then `commands`; the stop address and every landing.
        static func mmdbgLandings(stop: String, commands: [String]) throws -> (UInt64, [Landing]) {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            for line in ["break \(stop)", "continue --timeout 30", "delete"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
            }
            let start = try session.registerValue("pc")
            var landings: [Landing] = []
            for command in commands {
                let result = session.execute(line: command + " --timeout 20")
                guard case .success(let output) = result.outcome else {
                    landings.append(Landing(function: "error: \(String(describing: result.error))", line: nil))
                    continue
                }
                let source = field(output.json, "source")
                var function = "??"
                if case .string(let name)? = field(source, "function") { function = name }
                var line: Int?
                if case .int(let number)? = field(source, "line") { line = Int(number) }
                if source == nil, let pc = try? session.registerValue("pc") {
                    function = session.symbols?.symbolicate(pc)?.name ?? "??"
                }
                landings.append(Landing(function: function, line: line))
            }
            session.target?.close()
            return (start, landings)
        }

        /// gdb-multiarch: `break STOP` (checked to stop at mmdbg's address), `continue`, `delete`, then
        /// `commands`, each followed by `frame`.
        static func gdbLandings(stop: String, at address: UInt64, commands: [String]) throws -> ([Landing], String) {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let marker = "@@line-step@@"
            var arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
                             "-ex", "file \(kernel)", "-ex", "target remote \(try #require(qemu.gdbAddress))",
                             "-ex", "break \(stop)", "-ex", "continue", "-ex", "delete", "-ex", "echo \(marker)\\n",
                             "-ex", "p/x $pc"]
            for command in commands { arguments += ["-ex", command, "-ex", "echo \(marker)\\n", "-ex", "frame"] }
            arguments += ["-ex", "echo \(marker)\\n"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 90)
            // The first piece is the stop (`$1 = 0x…`): the same address mmdbg stopped at.
            var pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst())
            let stopped = pieces.first?.firstMatch(of: /\$1 = (0x[0-9a-f]+)/).flatMap { UInt64($0.1.dropFirst(2), radix: 16) }
            guard stopped == address else {
                return ([Landing(function: "gdb stopped elsewhere: \(String(describing: stopped))", line: nil)], result.combined)
            }
            pieces.removeFirst()
            let landings = pieces.prefix(commands.count).map { piece -> Landing in
                guard let frame = SourceDebugVersusGdbSystemTests.parseGdbBacktrace(piece).first else {
                    return Landing(function: "?? (gdb: \(piece.prefix(80)))", line: nil)
                }
                return Landing(function: frame.function, line: frame.line)
            }
            return (landings, result.combined)
        }

        /// Where to stop and what to type there: 36 step/next commands in all.
        static let walks: [(stop: String, commands: [String])] = [
            ("allocate_user_page", ["next", "next", "step", "next", "next", "next"]),
            ("map_page", ["next", "next", "next", "step", "next", "next"]),
            ("copy_process", ["next", "step", "next", "next", "step", "next"]),
            ("get_free_page", ["next", "next", "next", "next", "next", "next"]),
            ("do_el0_sync_fault", ["step", "next", "step", "next", "next", "next"]),
            ("sys_fork", ["step", "step", "next", "next", "step", "next"]),
        ]

        @Test(arguments: walks.indices)
        func stepAndNextLandOnGdbsLines(walk: Int) throws {
            let (stop, commands) = Self.walks[walk]
            let (address, ours) = try Self.mmdbgLandings(stop: stop, commands: commands)
            let (theirs, gdbText) = try Self.gdbLandings(stop: stop, at: address, commands: commands)
            try #require(theirs.count == commands.count, "gdb printed:\n\(gdbText)")
            // The first divergence is the finding; after it the two guests are in different places.
            for (index, (mine, gdb)) in zip(ours, theirs).enumerated() {
                // gdb prints Swift's mangled names: `fork` is `…16ProcessLifecycleO4forks5Int64VyFZ`, the
                // getter `current.get` is `…9TaskTableO7currentSpy…vgZ`.
                let parts = mine.function.split(separator: ".").suffix(2).map(String.init).filter { !["get", "set", "modify"].contains($0) }
                let sameName = Self.baseName(mine.function) == Self.baseName(gdb.function)
                    || parts.contains { gdb.function.contains("\($0.utf8.count)\($0)") }
                let same = mine.line == gdb.line && sameName
                #expect(same, "\(stop), command \(index + 1) `\(commands[index])`: mmdbg \(mine) gdb \(gdb)\nmmdbg \(ours)\ngdb \(theirs)")
                if !same { break }
            }
        }

        /// `break FUNCTION` picks gdb's address for every function gdb can break in (after the
        /// prologue); `break *FUNCTION` stays at the entry. No QEMU: both read the ELF only.
        @Test func breakFunctionAddressesMatchGdbs() throws {
            let kernel = try Tools.kernelImage()
            let info = try DebugInfoFile(path: kernel)
            let symbols = try ELFSymbolTable(path: kernel)
            // Every function with a plain (C or @_silgen_name) symbol that the line tables cover.
            let names = Array(Set(symbols.elf.symbols.filter { symbol in
                symbol.kind == .function && !symbol.name.isEmpty && symbol.name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                    && info.stepPosition(at: symbol.address)?.functionEntry == symbol.address
            }.map(\.name))).sorted()
            try #require(names.count >= 20, "kernel functions with lines: \(names)")
            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            var arguments = ["-batch", "-nx", "-ex", "file \(kernel)"]
            for name in names { arguments += ["-ex", "break \(name)"] }
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            // `Breakpoint 3 at 0x…: file …, line 56.`; a name with several copies (`(2 locations)`) is left out.
            let gdbAddresses = result.stdout.split(separator: "\n").compactMap { line -> UInt64?? in
                guard let m = line.firstMatch(of: /^Breakpoint \d+ at (0x[0-9a-f]+)/) else { return nil }
                return line.contains("locations)") ? .some(nil) : UInt64(m.1.dropFirst(2), radix: 16)
            }
            try #require(gdbAddresses.count == names.count, "gdb:\n\(result.combined)")
            var compared = 0
            var gdbOutside: [String] = []
            for (name, theirs) in zip(names, gdbAddresses) {
                guard let theirs else { continue }
                let entry = try #require(symbols.address(of: name))
                let ours = info.postPrologueAddress(entry: entry)
                let ranges = try info.function(containing: entry)?.ranges ?? []
                // gdb 13.1 looks for `prologue_end` up to and including the function's end address, so a
                // function with none of its own takes the next function's first row (a leaf's entry):
                // that address is in another function, where mmdbg does not follow it.
                if !ranges.contains(where: { $0.contains(theirs) }) {
                    gdbOutside.append(name)
                    #expect(ranges.contains { $0.contains(ours) })
                    continue
                }
                compared += 1
                #expect(ours == theirs, "break \(name): mmdbg 0x\(String(ours, radix: 16)) gdb 0x\(String(theirs, radix: 16)) (entry 0x\(String(entry, radix: 16)))")
            }
            #expect(compared >= 20 && gdbOutside.count <= 3, "compared \(compared); gdb outside the function: \(gdbOutside)")
        }

        /// `break FUNCTION` stops after the prologue, `break *FUNCTION` at the entry; `tbreak` is hit once
        /// and gone; `advance LOCATION` and `until LINE` stop where asked; `finish` shows x0 and the caller.
        @Test func tbreakUntilAdvanceAndFinishOnTheKernel() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            let info = try DebugInfoFile(path: kernel)
            let entry = try #require(session.symbols?.address(of: "map_page"))
            let body = info.postPrologueAddress(entry: entry)
            #expect(body > entry, "map_page has a prologue")

            func run(_ line: String) throws -> CommandOutput {
                let result = session.execute(line: line)
                guard case .success(let output) = result.outcome else {
                    struct Failed: Error, CustomStringConvertible { var description: String }
                    throw Failed(description: "\(line): \(String(describing: result.error))")
                }
                return output
            }
            let exact = try run("break *map_page")
            #expect(Self.field(exact, "address") == .hex(entry))
            let tbreak = try run("tbreak map_page")
            #expect(Self.field(tbreak, "address") == .hex(body))
            #expect(Self.field(tbreak, "temporary") == .bool(true))
            _ = try run("continue --timeout 30")
            #expect(try session.registerValue("pc") == entry)
            let temporaryHit = try run("continue --timeout 30")
            #expect(try session.registerValue("pc") == body)
            #expect(Self.field(temporaryHit.json, "event") == .string("breakpoint"))
            #expect(session.breakpoints.entries.count == 1, "the tbreak is gone after its hit")
            _ = try run("delete")

            // advance FILE:LINE and until LINE: later lines of map_page, reached in this frame.
            let file = "Sources/KernelCore/MM/UserPageTables.swift"
            let function = try KernelSourceLines.find("public func map_page(", in: file).number
            let walk = try KernelSourceLines.find("let pud = walkLevel(", in: file, after: function)
            _ = try run("advance UserPageTables.swift:\(walk.number) --timeout 30")
            #expect(try session.registerValue("pc") == (try info.addresses(file: file, line: walk.number)).addresses[0],
                    "advance UserPageTables.swift:\(walk.number)")
            let later = try KernelSourceLines.find("perform(.publishDescriptors)", in: file, after: function)
            _ = try run("until \(later.number) --timeout 30")
            #expect(try session.registerValue("pc") == (try info.addresses(file: file, line: later.number)).addresses[0],
                    "until \(later.number)")
            #expect(session.breakpoints.entries.isEmpty, "until and advance leave no breakpoint behind")
            // finish: back in the caller with x0.
            let finish = try run("finish --timeout 30")
            let text = TextRenderer(colour: false).render(finish)
            #expect(text.contains("Value returned: x0 = 0x0 (0)"), "\(text)")
            #expect(Self.field(Self.field(finish.json, "source"), "function") == .string("allocate_user_page"), "\(text)")
        }

        static func field(_ output: CommandOutput, _ key: String) -> JSONValue? { field(output.json, key) }

        /// A function's last name component, both demangled: `fork` for gdb's
        /// `$e11KernelTasks16ProcessLifecycleO4forks5Int64VyFZ` (`KernelTasks.ProcessLifecycle.fork`) and mmdbg's `fork`.
        static func baseName(_ name: String) -> String {
            String(SourceDebugVersusGdbSystemTests.readable(name).split(separator: ".").last ?? "")
        }
    }
}
