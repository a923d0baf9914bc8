import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `print`, `ptype`, `whatis`, `info args` and `info locals` against gdb-multiarch's at ten stops of
    /// one QEMU, taking turns: at each stop mmdbg runs to it and reads, closes without detaching, then gdb
    /// attaches to the paused QEMU, reads the same, and disconnects without resuming. C frames' arguments
    /// and locals (register, entry-value and optimized-out locations) and the kernel's C globals; only
    /// the `$N = ` prefix both print is normalised away.
    @Suite("print, ptype and locals beside gdb-multiarch at the same stops")
    struct TypedDataVersusGdbSystemTests {
        struct Stop {
            var function: String
            /// How many times to continue to it (its first hit, or a later one).
            var hits = 1
            /// The frame both select before the commands.
            var frame = 0
            var commands: [String]
        }

        static let globals = [
            "print mm_pool", "print *mm_current", "print mm_tasks[1].mm.brk", "ptype struct mm_task",
            "print mm_current", "print mm_current->name", "print/x mm_current->mm.user_pages[0]",
            "print mm_tasks[0].pid + mm_tasks[1].pid * 3 - 1", "print sizeof(struct mm_task)",
            "print &mm_tasks[2] - &mm_tasks[0]", "print (mm_pool.free_pages << 12) >> 3",
            "print mm_pool.free_pages > mm_pool.alloc_count && mm_current->pid == 1",
            "print/x mm_pool.free_list", "print ((struct mm_task *)&mm_tasks[1])->mm.pgd",
            "print mm_tasks[1].mm.kernel_pages", "whatis mm_tasks", "whatis mm_current->mm",
            "ptype mm_current", "ptype struct mm_page_pool", "print -mm_current->pid % 7", "print $pc", "print $sp",
            "whatis $pc", "print mm_cpus[0]", "print/x mm_cpus[0].current", "print mm_current->name[0] == 'i'",
            "print mm_current->name[1]", "print/c 65", "print/t mm_current->state", "print (unsigned char)-1",
            "whatis uint64_t", "ptype uint64_t", "whatis struct mm_task", "ptype 1 + 2", "whatis (char)1",
        ]

        /// In the order the kernel reaches them (each is hit again after the one before).
        static let stops: [Stop] = [
            Stop(function: "mm_uart_putc", commands: ["info args", "info locals", "print c", "print/x c", "print/c c", "print c + 1",
                                                      "whatis c", "print c == 'm'", "print mm_pool.free_pages"]),
            Stop(function: "memset", commands: ["info args", "info locals", "print d", "print c", "print n", "print p",
                                                "print n * 2 + c", "print/x n", "whatis p", "ptype d", "print *p", "print p[1]",
                                                "print (char *)d - (char *)p"]),
            Stop(function: "mm_write_ttbr0", commands: ["info args", "print v", "print/x v", "print v >> 12", "print v & 0xfff",
                                                        "whatis v", "print v == $x0", "print/t v & 0xff"]),
            // A Swift frame: gdb shows Swift's integers as `{_value = N}` (normalised to N) and cannot show its
            // pointers (`{<incomplete type>}`), so only integers are compared. Frame 0 is the inlined
            // lookup_pte_slot, whose `uva` has no location there; frame 1 is map_page.
            Stop(function: "map_page", commands: ["print uva", "print pgd"]),
            Stop(function: "map_page", frame: 1, commands: ["print uva", "print physPage", "print flags", "print/x flags",
                                                            "print/x physPage", "print $pc"]),
            Stop(function: "memmove", commands: ["info args", "info locals", "print d", "print s", "print dp", "print sp",
                                                 "print dp < sp", "print *sp", "print sp[2]", "whatis dp"]),
            Stop(function: "mm_tlb_invalidate_user_page", commands: ["info args", "info locals", "print va", "print/x va",
                                                                     "print va >> 12", "print operand", "print mm_current->pid"]),
            Stop(function: "mm_timer_arm", commands: ["info args", "print ticks", "print ticks / 1000", "print/x ticks",
                                                      "whatis ticks", "print ticks % 7"]),
            Stop(function: "mm_sync_icache", commands: ["info args", "info locals", "print kva", "print length", "print/x kva",
                                                        "print kva + length", "print (kva & 0xfff) == 0", "print ctr", "print iline"]),
            // A caller's registers, as the unwinder recovered them.
            Stop(function: "mm_sync_icache", frame: 2, commands: ["print $pc", "print $sp", "print $x29", "print/x $sp + 16"]),
            Stop(function: "sys_fork", hits: 2, commands: globals),
            Stop(function: "mm_uart_putc", commands: ["info args", "print c", "print/d c", "print/x c", "print mm_current->pid",
                                                      "print mm_current->name", "print mm_tasks[mm_current->pid].state"]),
            Stop(function: "memset", commands: ["info args", "info locals", "print n", "print/x d", "print p == d",
                                                "print c", "print (long)n - 1"]),
        ]

        @Test func printAndLocalsMatchGdbAtTenStops() throws {
            let kernel = try Tools.kernelImage()
            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            #expect(Self.stops.count >= 10 && Self.stops.map(\.commands.count).reduce(0, +) >= 100)
            for stop in Self.stops {
                let session = Session()
                session.symbols = try ELFSymbolTable(path: kernel)
                try session.attach(to: address)
                // gdb has no kernel pretty-printers: compare the raw values.
                var setup = ["set print raw-values on", "break \(stop.function)"]
                setup += Array(repeating: "continue --timeout 30", count: stop.hits)
                setup.append("delete")
                if stop.frame > 0 { setup.append("frame \(stop.frame)") }
                for line in setup {
                    let result = session.execute(line: line)
                    try #require(result.succeeded, "\(line): \(String(describing: result.error))")
                }
                var ours: [String] = []
                for command in stop.commands {
                    let result = session.execute(line: command)
                    guard case .success(let output) = result.outcome else {
                        ours.append("error: \(String(describing: result.error))")
                        continue
                    }
                    ours.append(Self.normalised(TextRenderer(colour: false).render(output)))
                }
                // Close without `D`: QEMU stays paused for gdb (and for mmdbg at the next stop).
                session.target?.close()
                let theirs = try Self.gdbOutputs(gdb, kernel: kernel, address: address, frame: stop.frame, commands: stop.commands)
                for (index, command) in stop.commands.enumerated() {
                    #expect(ours[index] == theirs[index], "\(stop.function): \(command):\nmmdbg: \(ours[index])\ngdb:   \(theirs[index])")
                }
            }
        }

        /// `watch EXPR` stops where gdb's `watch -l EXPR` does. Watching moves the guest, so each debugger
        /// boots its own QEMU (same kernel, same `-icount`) and runs to the same stop first. Both step over the
        /// write and stop after it; a write of the same value is passed over (`mm_tasks[2].state` is first
        /// written by a memset that stores the 0 it holds).
        @Test(arguments: [("sys_fork", "mm_pool.free_pages"), ("sys_fork", "mm_pool.alloc_count"), ("sys_fork", "mm_tasks[2].state"),
                          ("sys_fork", "mm_current->counter"), ("sys_fork", "mm_tick")])
        func watchStopsWhereGdbsWatchLocationStops(stop: String, expression: String) throws {
            let kernel = try Tools.kernelImage()
            func booted() throws -> QEMUInstance {
                var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
                configuration.icountShift = 4
                return try QEMUInstance(configuration)
            }
            let ours: UInt64
            let watched: String
            do {
                let qemu = try booted()
                defer { qemu.stop() }
                let session = Session()
                session.symbols = try ELFSymbolTable(path: kernel)
                try session.attach(to: try #require(qemu.gdbAddress))
                for line in ["break \(stop)", "continue --timeout 30", "delete", "watch \(expression)", "continue --timeout 30"] {
                    let result = session.execute(line: line)
                    try #require(result.succeeded, "\(line): \(String(describing: result.error))")
                }
                ours = try session.registerValue("pc")
                watched = session.breakpoints.entries.first.map { "\(Hex.format($0.address)) \($0.length)" } ?? "?"
                session.target?.close()
            }
            let qemu = try booted()
            defer { qemu.stop() }
            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let result = try ChildProcess.run(gdb, [
                "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off", "-ex", "file \(kernel)",
                "-ex", "target remote \(try #require(qemu.gdbAddress))", "-ex", "set language c", "-ex", "break \(stop)", "-ex", "continue",
                "-ex", "delete", "-ex", "watch -l \(expression)", "-ex", "continue", "-ex", "p/x $pc",
            ], timeout: 90)
            let theirs = result.stdout.matches(of: /\$\d+ = (0x[0-9a-f]+)/).last.flatMap { UInt64($0.1.dropFirst(2), radix: 16) }
            #expect(theirs == ours, "watch \(expression) (\(watched)): mmdbg stopped at \(Hex.format(ours)), gdb at \(theirs.map(Hex.format) ?? "?")\n\(result.combined)")
        }

        /// `set var` then `print` round-trips through memory, a register and a convenience variable;
        /// `display` shows at the next stop (text and JSON); `x` takes a C expression and sets `$_`;
        /// `print` numbers its results and `$N` reads them back.
        @Test func setVarDisplayAndHistory() throws {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: try #require(qemu.gdbAddress))
            func run(_ line: String) throws -> CommandOutput {
                let result = session.execute(line: line)
                guard case .success(let output) = result.outcome else {
                    Issue.record("\(line): \(String(describing: result.error))")
                    throw CommandError.failed(line)
                }
                return output
            }
            func text(_ line: String) throws -> String { Self.normalised(TextRenderer(colour: false).render(try run(line))) }
            _ = try run("set print raw-values on")   // numbers as gdb prints them (brk is hex with the kernel printer)
            _ = try run("break memset")
            _ = try run("continue --timeout 30")
            // memset(d, c, n): c is in x1 at entry (n is x2 - 1 there, a computed value: not an lvalue).
            #expect(try text("print c") == text("print (int)$x1"))
            #expect(try text("set var c = 5") == "c = 5")
            #expect(try text("print c") == "5")
            #expect(try text("print $x1") == "5", "c lives in x1 here: set var wrote the register")
            #expect(!session.execute(line: "set var n = 1").succeeded)
            let brk = try text("print mm_tasks[1].mm.brk")
            #expect(try text("set var mm_tasks[1].mm.brk = 0x12345") == "mm_tasks[1].mm.brk = 74565")
            #expect(try text("print/x mm_tasks[1].mm.brk") == "0x12345")
            #expect(try text("x/1gx &mm_tasks[1].mm.brk").hasSuffix("0x0000000000012345"))
            let address = try text("print &mm_tasks[1].mm.brk").replacing(#/^\(.*\) /#, with: "")
            #expect(try text("print $_") == "(long *) " + address)
            _ = try run("set var mm_tasks[1].mm.brk = \(brk)")
            #expect(try text("print mm_tasks[1].mm.brk") == brk)
            #expect(try text("set var $x9 = 0x77") == "$x9 = 119")
            #expect(try text("print $x9") == "119")
            #expect(try text("print $limit = 3 * 7") == "$limit = 21")
            let history = try run("print $limit + 1")
            #expect(Self.normalised(TextRenderer(colour: false).render(history)) == "22")
            let number = TextRenderer(colour: false).render(history).firstMatch(of: #/^\$(\d+) = /#).map { String($0.1) } ?? "?"
            #expect(try text("print $\(number) * 2") == "44")
            // Read-only refusal: device memory (the UART) is refused as `x` refuses it.
            #expect(!session.execute(line: "set var *(unsigned int *)0xffff000009000000 = 1").succeeded)
            _ = try run("display/x c")
            _ = try run("display mm_current->pid")
            #expect(try text("info display").contains("/x c"))
            _ = try run("delete")
            _ = try run("break mm_uart_putc")
            let stop = try run("continue --timeout 30")
            let shown = TextRenderer(colour: false).render(stop)
            #expect(shown.contains("1: /x c = 0x"), "\(shown)")
            #expect(shown.contains("2: mm_current->pid = "), "\(shown)")
            func field(_ value: JSONValue?, _ key: String) -> JSONValue? { LineSteppingVersusGdbSystemTests.field(value, key) }
            guard case .array(let displays)? = field(stop.json, "displays") else { Issue.record("no displays in \(stop.json)"); return }
            #expect(displays.count == 2 && field(displays[1], "number") == .int(2))
            _ = try run("undisplay 1")
            #expect(try text("info display").contains("mm_current->pid") && !text("info display").contains("/x c"))
            guard case .array(let arguments)? = field(try run("info args").json, "args"), let first = arguments.first else {
                Issue.record("info args: no args in JSON"); return
            }
            #expect(field(first, "name") == .string("c") && field(first, "type") == .string("uint8_t"))
            session.target?.close()
        }

        /// gdb-multiarch attached to the paused QEMU: each command's output; it disconnects without resuming.
        static func gdbOutputs(_ gdb: String, kernel: String, address: String, frame: Int = 0, commands: [String]) throws -> [String] {
            let marker = "@@typed-data@@"
            var arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
                             "-ex", "file \(kernel)", "-ex", "target remote \(address)",
                             // A stop in a Swift frame makes gdb leave C (its literals become `long`); mmdbg's language is C.
                             "-ex", "set language c", "-ex", "frame \(frame)"]
            for command in commands { arguments += ["-ex", "echo \(marker)\\n", "-ex", command] }
            arguments += ["-ex", "echo \(marker)\\n", "-ex", "disconnect"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            let pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst().dropLast())
            try #require(pieces.count == commands.count, "gdb printed:\n\(result.combined)")
            // Swift's integers: gdb shows the struct that wraps the builtin, mmdbg the integer.
            return pieces.map { normalised($0).replacing(#/\{_value = ([^{}]*)\}/#) { $0.output.1 } }
        }

        static func normalised(_ text: String) -> String {
            text.trimmingCharacters(in: .whitespacesAndNewlines).replacing(#/^\$\d+ = /#, with: "")
        }
    }
}
