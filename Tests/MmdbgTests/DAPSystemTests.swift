import Foundation
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `mmdbg dap`: a DAP client drives the real adapter process against the real QEMU.
    /// Every message the adapter sends is checked against the protocol's schema (`DAPSpec`).
    @Suite("mmdbg dap (Debug Adapter Protocol)", .serialized)
    struct DAPSystemTests {
        static let pageTables = "Sources/KernelCore/MM/UserPageTables.swift"

        /// One whole session: launch, a breakpoint by source line, stack, scopes, variables,
        /// the Debug Console, stepIn and next, memory, disassembly, and on to the kernel's exit.
        @Test func launchBreakStepInspectAndRunToExit() throws {
            let kernel = try Tools.kernelImage()
            let root = try #require(KernelImage.packageRoot())
            let client = try DAPClient()
            defer { client.stop() }

            let capabilities = try client.body("initialize", ["adapterID": "mmdbg", "clientID": "tests", "linesStartAt1": true,
                                                              "columnsStartAt1": true, "pathFormat": "path"])
            #expect(capabilities["supportsConfigurationDoneRequest"] as? Bool == true)
            #expect(capabilities["supportsDisassembleRequest"] as? Bool == true)
            #expect(capabilities["supportsConditionalBreakpoints"] as? Bool == false, "not implemented: not advertised")
            _ = try client.body("launch", ["kernel": kernel, "stopOnEntry": false], timeout: 90)
            _ = try client.event("initialized")

            // A breakpoint by source line in sys_brk: init's first brk syscall stops there.
            let syscalls = "Sources/KernelTasks/syscall/SyscallHandlers.swift"
            let brk = try KernelSourceLines.find("func sys_brk(", in: syscalls).number
            let line = try KernelSourceLines.find("if address == 0 {", in: syscalls, after: brk).number
            let path = root.appendingPathComponent(syscalls).path
            let set = try client.body("setBreakpoints", ["source": ["path": path], "breakpoints": [["line": line]]])
            let breakpoint = try #require((set["breakpoints"] as? [[String: Any]])?.first)
            #expect(breakpoint["verified"] as? Bool == true, "\(breakpoint)")
            #expect(breakpoint["line"] as? Int == line)
            let breakpointID = try #require(breakpoint["id"] as? Int)
            _ = try client.body("configurationDone")

            let hit = try client.event("stopped", timeout: 60)
            #expect(hit["reason"] as? String == "breakpoint")
            #expect(hit["hitBreakpointIds"] as? [Int] == [breakpointID])
            #expect(hit["allThreadsStopped"] as? Bool == true)
            let threadId = try #require(hit["threadId"] as? Int)
            let threads = try #require(try client.body("threads")["threads"] as? [[String: Any]])
            #expect(threads.map { $0["id"] as? Int } == [1], "one CPU, one thread")

            // The stack: sys_brk at the line, then the exception entry as a label frame, then init's frames.
            let stack = try #require(try client.body("stackTrace", ["threadId": threadId])["stackFrames"] as? [[String: Any]])
            let top = stack[0]
            #expect((top["name"] as? String)?.hasSuffix("sys_brk") == true, "\(top)")
            #expect(top["line"] as? Int == line)
            #expect((top["source"] as? [String: Any])?["path"] as? String == path)
            let label = try #require(stack.firstIndex { $0["presentationHint"] as? String == "label" }, "\(stack)")
            #expect((stack[label]["name"] as? String)?.contains("SVC from EL0") == true, "\(stack[label])")
            #expect(((stack[label + 1]["source"] as? [String: Any])?["path"] as? String)?.contains("Sources/UserPrograms/") == true)
            let pc = try #require(top["instructionPointerReference"] as? String)

            // Scopes: Registers holds the frame's pc; Kernel expands lazily to the task table.
            let scopes = try #require(try client.body("scopes", ["frameId": top["id"] as Any])["scopes"] as? [[String: Any]])
            #expect(scopes.map { $0["name"] as? String } == ["Locals", "Arguments", "Registers", "System registers", "Kernel"])
            func variables(_ scope: String) throws -> [[String: Any]] {
                let reference = try #require(scopes.first { $0["name"] as? String == scope }?["variablesReference"] as? Int)
                return try #require(try client.body("variables", ["variablesReference": reference])["variables"] as? [[String: Any]])
            }
            let locals = try variables("Locals")
            #expect(!locals.isEmpty, "Locals hold the frame's variables, or one that says why not")
            let registers = try variables("Registers")
            let pcValue = try #require(registers.first { $0["name"] as? String == "pc" }?["value"] as? String)
            #expect(pcValue.hasPrefix(pc), "\(pcValue) vs frame pc \(pc)")
            let system = try variables("System registers")
            #expect(system.contains { $0["name"] as? String == "TTBR1_EL1" && ($0["value"] as? String)?.hasPrefix("0x") == true }, "\(system)")
            let kernelNodes = try variables("Kernel")
            let tasksNode = try #require(kernelNodes.first { $0["name"] as? String == "tasks" })
            let tasksFields = try #require(try client.body("variables", ["variablesReference": tasksNode["variablesReference"] as Any])["variables"] as? [[String: Any]])
            let taskList = try #require(tasksFields.first { $0["name"] as? String == "tasks" })
            #expect((taskList["indexedVariables"] as? Int ?? 0) >= 1, "\(tasksFields)")

            // The Debug Console runs mmdbg commands; hover prints expressions.
            let pt = try client.body("evaluate", ["expression": "pt 1", "context": "repl", "frameId": top["id"] as Any])
            let ptText = try #require(pt["result"] as? String)
            let direct = try client.body("evaluate", ["expression": "pt 1 --user", "context": "repl"])
            #expect(ptText.contains("0x") && ptText.split(separator: "\n").count > 2, "\(ptText)")
            #expect((direct["result"] as? String).map { !$0.isEmpty } == true)
            let hover = try client.body("evaluate", ["expression": "mm_pool", "context": "hover"])
            #expect(hover["type"] as? String != nil && (hover["variablesReference"] as? Int ?? 0) > 0, "\(hover)")
            let badCommand = try client.request("evaluate", ["expression": "frobnicate", "context": "repl"])
            #expect(badCommand["success"] as? Bool == false && (badCommand["message"] as? String)?.contains("unknown command") == true)

            // Memory at the pc and its disassembly agree.
            let memory = try client.body("readMemory", ["memoryReference": pc, "count": 8])
            let bytes = try #require(Data(base64Encoded: memory["data"] as? String ?? ""))
            #expect(bytes.count == 8)
            let disassembly = try #require(try client.body("disassemble", ["memoryReference": pc, "instructionCount": 4])["instructions"] as? [[String: Any]])
            #expect(disassembly.count == 4)
            #expect(disassembly.first?["address"] as? String == pc)
            let firstWord = bytes.prefix(4).reduce(into: "") { $0 += String(format: "%02x", $1) }
            let shown = (disassembly.first?["instructionBytes"] as? String ?? "").replacingOccurrences(of: " ", with: "")
            #expect(shown == firstWord, "instruction bytes \(shown) vs memory \(firstWord)")
            let physical = try client.body("readMemory", ["memoryReference": "phys:0x40000000", "count": 4])
            #expect((physical["address"] as? String)?.hasPrefix("phys:") == true)

            // On to allocate_user_page's call of map_page (init forks); stepIn enters map_page, next goes on in it.
            _ = try client.body("setBreakpoints", ["source": ["path": path], "breakpoints": [[String: Any]]()])
            let pages = root.appendingPathComponent(Self.pageTables).path
            let allocate = try KernelSourceLines.find("public func allocate_user_page", in: Self.pageTables).number
            let call = try KernelSourceLines.find("map_page(t, uva, physPage, flags)", in: Self.pageTables, after: allocate).number
            let second = try client.body("setBreakpoints", ["source": ["path": pages], "breakpoints": [["line": call]]])
            #expect((second["breakpoints"] as? [[String: Any]])?.first?["verified"] as? Bool == true)
            _ = try client.body("continue", ["threadId": threadId])
            #expect(try client.event("stopped", timeout: 60)["reason"] as? String == "breakpoint")
            #expect(try topFrame(client, threadId)["line"] as? Int == call)
            _ = try client.body("stepIn", ["threadId": threadId])
            #expect(try client.event("stopped")["reason"] as? String == "step")
            let entered = try names(client, threadId)
            let mapPage = try #require(entered.firstIndex { $0.hasSuffix("map_page") }, "\(entered)")
            #expect(entered.firstIndex { $0.hasSuffix("allocate_user_page") } == mapPage + 1, "map_page called from allocate_user_page: \(entered)")
            let enteredLine = try topFrame(client, threadId)["line"] as? Int
            // map_page's Arguments scope: its DWARF parameters with values (info args), uva among them.
            let mapFrame = try topFrame(client, threadId)
            let mapScopes = try #require(try client.body("scopes", ["frameId": mapFrame["id"] as Any])["scopes"] as? [[String: Any]])
            let argumentsReference = try #require(mapScopes.first { $0["name"] as? String == "Arguments" }?["variablesReference"] as? Int)
            let arguments = try #require(try client.body("variables", ["variablesReference": argumentsReference])["variables"] as? [[String: Any]])
            let uva = try #require(arguments.first { $0["name"] as? String == "uva" }, "\(arguments)")
            #expect((uva["value"] as? String).map { !$0.isEmpty && !$0.contains("not yet") } == true, "\(uva)")
            // setVariable on an argument goes through `set var`: a value that does not parse is an error response naming it.
            let refused = try client.request("setVariable", ["variablesReference": argumentsReference, "name": "uva", "value": "1 +"])
            #expect(refused["success"] as? Bool == false && (refused["message"] as? String)?.contains("syntax error") == true, "\(refused)")
            _ = try client.body("next", ["threadId": threadId])
            #expect(try client.event("stopped")["reason"] as? String == "step")
            let stepped = try topFrame(client, threadId)
            #expect(try names(client, threadId).contains { $0.hasSuffix("map_page") })
            #expect(stepped["line"] as? Int != enteredLine, "next moved to another line")

            // No breakpoints left: the kernel runs to its power-off; the UART came as stdout.
            _ = try client.body("setBreakpoints", ["source": ["path": pages], "breakpoints": [[String: Any]]()])
            _ = try client.body("continue", ["threadId": threadId])
            let exited = try client.event("exited", timeout: 90)
            #expect(exited["exitCode"] as? Int == 0)
            _ = try client.event("terminated")
            #expect(client.output(category: "stdout").contains("[BOOT] power off"))
            _ = try client.body("disconnect")
            #expect(client.waitForExit(timeout: 20) == 0, "stderr: \(client.stderr)")
            #expect(client.violations.isEmpty, "\(client.violations)")
        }

        /// Over TCP (`--port 0`): stop on entry, function and data breakpoints, a register and memory
        /// written and read back, stepOut, while recording; then the recording replayed, stepping back.
        @Test func breakpointKindsWritesAndReverseExecutionOverTCP() throws {
            let kernel = try Tools.kernelImage()
            let root = try #require(KernelImage.packageRoot())
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-dap-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            defer { try? FileManager.default.removeItem(at: dir) }
            let recording = dir.appendingPathComponent("rec").path
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

            let client = try DAPClient.overTCP()
            defer { client.stop() }
            _ = try client.body("initialize", ["adapterID": "mmdbg"])
            _ = try client.body("launch", ["kernel": kernel, "record": recording, "stopOnEntry": true], timeout: 90)
            _ = try client.event("initialized")
            _ = try client.body("configurationDone")
            #expect(try client.event("stopped")["reason"] as? String == "entry")

            let function = try client.body("setFunctionBreakpoints", ["breakpoints": [["name": "sys_brk"]]])
            let functionBreakpoint = try #require((function["breakpoints"] as? [[String: Any]])?.first)
            #expect(functionBreakpoint["verified"] as? Bool == true, "\(functionBreakpoint)")
            let sourcePath = try #require((functionBreakpoint["source"] as? [String: Any])?["path"] as? String)
            #expect(sourcePath.hasPrefix("/") && FileManager.default.fileExists(atPath: sourcePath), "\(sourcePath)")
            _ = try client.body("continue", ["threadId": 1])
            let hit = try client.event("stopped", timeout: 60)
            #expect(hit["reason"] as? String == "function breakpoint" && hit["hitBreakpointIds"] as? [Int] == [functionBreakpoint["id"] as? Int ?? -1], "\(hit)")
            let sources = try #require(try client.body("loadedSources")["sources"] as? [[String: Any]])
            #expect(sources.contains { $0["path"] as? String == root.appendingPathComponent("Sources/KernelTasks/syscall/SyscallHandlers.swift").path })

            // A register written and put back.
            let frames = try #require(try client.body("stackTrace", ["threadId": 1])["stackFrames"] as? [[String: Any]])
            let scopes = try #require(try client.body("scopes", ["frameId": frames[0]["id"] as Any])["scopes"] as? [[String: Any]])
            let registers = try #require(scopes.first { $0["name"] as? String == "Registers" }?["variablesReference"] as? Int)
            func register(_ name: String) throws -> String {
                let list = try #require(try client.body("variables", ["variablesReference": registers])["variables"] as? [[String: Any]])
                return try #require(list.first { $0["name"] as? String == name }?["value"] as? String)
            }
            let original = String(try register("x9").prefix { !$0.isWhitespace })
            let set = try client.body("setVariable", ["variablesReference": registers, "name": "x9", "value": "0x1234"])
            #expect(set["value"] as? String == "0x1234")
            #expect(try register("x9").hasPrefix("0x1234"))
            _ = try client.body("setVariable", ["variablesReference": registers, "name": "x9", "value": original])
            let refused = try client.request("setVariable", ["variablesReference": registers, "name": "x9", "value": "no_such_symbol"])
            #expect(refused["success"] as? Bool == false)

            // Memory below the stack pointer written and put back.
            let before = try client.body("readMemory", ["memoryReference": "$sp", "offset": -64, "count": 8])
            let pattern = Data([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04])
            #expect(try client.body("writeMemory", ["memoryReference": "$sp", "offset": -64, "data": pattern.base64EncodedString()])["bytesWritten"] as? Int == 8)
            #expect(try client.body("readMemory", ["memoryReference": "$sp", "offset": -64, "count": 8])["data"] as? String == pattern.base64EncodedString())
            _ = try client.body("writeMemory", ["memoryReference": "$sp", "offset": -64, "data": before["data"] as Any])

            // A data breakpoint on the pool's free counter: the next free_page stops.
            let info = try client.body("dataBreakpointInfo", ["name": "mm_pool.free_count"])
            let dataId = try #require(info["dataId"] as? String)
            let data = try client.body("setDataBreakpoints", ["breakpoints": [["dataId": dataId, "accessType": "write"]]])
            let watch = try #require((data["breakpoints"] as? [[String: Any]])?.first)
            #expect(watch["verified"] as? Bool == true)
            _ = try client.body("setFunctionBreakpoints", ["breakpoints": [[String: Any]]()])
            _ = try client.body("continue", ["threadId": 1])
            let watched = try client.event("stopped", timeout: 60)
            #expect(watched["reason"] as? String == "data breakpoint" && watched["hitBreakpointIds"] as? [Int] == [watch["id"] as? Int ?? -1], "\(watched)")
            _ = try client.body("setDataBreakpoints", ["breakpoints": [[String: Any]]()])
            let inner = try #require(try client.body("stackTrace", ["threadId": 1])["stackFrames"] as? [[String: Any]])
            _ = try client.body("stepOut", ["threadId": 1])
            #expect(try client.event("stopped")["reason"] as? String == "step")
            let outer = try #require(try client.body("stackTrace", ["threadId": 1])["stackFrames"] as? [[String: Any]])
            #expect(outer.count < inner.count && outer[0]["name"] as? String == inner[1]["name"] as? String, "stepOut: \(inner[0]["name"] ?? "") → \(outer[0]["name"] ?? "")")
            let back = try client.request("stepBack", ["threadId": 1])
            #expect(back["success"] as? Bool == false && (back["message"] as? String)?.contains("replay") == true)
            _ = try client.body("disconnect", timeout: 90)
            #expect(client.waitForExit(timeout: 90) == 0, "stderr: \(client.stderr)")
            #expect(FileManager.default.fileExists(atPath: recording + "/manifest.json"), "the recording is finished at disconnect")
            #expect(client.violations.isEmpty, "\(client.violations)")

            // The recording replayed: back one instruction from the sys_brk stop, then back to the start.
            let replay = try DAPClient()
            defer { replay.stop() }
            _ = try replay.body("initialize", ["adapterID": "mmdbg"])
            _ = try replay.body("launch", ["replay": recording], timeout: 90)
            _ = try replay.event("initialized")
            _ = try replay.body("setFunctionBreakpoints", ["breakpoints": [["name": "sys_brk"]]])
            _ = try replay.body("configurationDone")
            #expect(try replay.event("stopped", timeout: 60)["reason"] as? String == "function breakpoint")
            let at = try #require((try replay.body("stackTrace", ["threadId": 1])["stackFrames"] as? [[String: Any]])?.first?["instructionPointerReference"] as? String)
            _ = try replay.body("stepBack", ["threadId": 1, "granularity": "instruction"])
            #expect(try replay.event("stopped")["reason"] as? String == "step")
            let earlier = try #require((try replay.body("stackTrace", ["threadId": 1])["stackFrames"] as? [[String: Any]])?.first?["instructionPointerReference"] as? String)
            #expect(earlier != at, "stepBack moved the pc: \(at) → \(earlier)")
            _ = try replay.body("reverseContinue", ["threadId": 1])
            let start = try replay.event("stopped", timeout: 60)
            #expect((start["description"] as? String)?.contains("start of the recording") == true, "\(start)")
            _ = try replay.body("disconnect")
            #expect(replay.waitForExit(timeout: 30) == 0)
            #expect(replay.violations.isEmpty, "\(replay.violations)")
        }

        /// A second opinion: the independent `dap-python` client library (its pydantic models parse
        /// every message) drives launch, a line breakpoint, the stack and the run to exit.
        @Test func anIndependentClientLibraryDrivesASession() throws {
            let kernel = try Tools.kernelImage()
            let python = try Tools.require("python3", package: "python3")
            let root = try #require(KernelImage.packageRoot())
            let function = try KernelSourceLines.find("public func allocate_user_page", in: Self.pageTables).number
            let line = try KernelSourceLines.find("map_page(t, uva, physPage, flags)", in: Self.pageTables, after: function).number
            let run = try ChildProcess.run(python, [root.appendingPathComponent("scripts/dap-second-opinion.py").path, try MmdbgBinary.path(),
                                                    kernel, root.appendingPathComponent(Self.pageTables).path, "\(line)"], timeout: 150)
            #expect(run.status == 0, "\(run.combined)")
            #expect(run.stdout.contains("ok stackTrace: ") && run.stdout.contains("line \(line)"), "\(run.stdout)")
            #expect(run.stdout.contains("ok exited: 0") && run.stdout.contains("adapter exit status 0"), "\(run.combined)")
        }

        /// Attach to a QEMU that another program started, see its CPUs as threads, pause it
        /// while it runs, and leave it running when the client goes away mid-run.
        @Test func attachPauseWhileRunningAndDetachOnDisconnect() throws {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.smp = 2
            configuration.extraArguments = ["-no-shutdown"]  // QEMU outlives the kernel's power-off: only a kill ends it
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            let client = try DAPClient()
            defer { client.stop() }
            _ = try client.body("initialize", ["adapterID": "mmdbg"])
            _ = try client.body("attach", ["gdbstub": address, "elf": kernel], timeout: 60)
            _ = try client.event("initialized")
            let threads = try #require(try client.body("threads")["threads"] as? [[String: Any]])
            #expect(threads.map { $0["id"] as? Int } == [1, 2], "\(threads)")
            #expect(threads.map { $0["name"] as? String } == ["CPU 0", "CPU 1"])
            _ = try client.body("configurationDone")
            #expect(HostProcess.waitForCPUUse(of: qemu.pid, seconds: 0.05, within: 10), "the guest runs after configurationDone")
            // While it runs: threads still answer; breakpoints are set (the adapter stops the target,
            // sets them and runs on, with no stopped event); pause stops it.
            #expect((try client.body("threads")["threads"] as? [[String: Any]])?.count == 2)
            let whileRunning = try client.body("setFunctionBreakpoints", ["breakpoints": [["name": "no_such_function_here"]]])
            let unknown = try #require((whileRunning["breakpoints"] as? [[String: Any]])?.first)
            #expect(unknown["verified"] as? Bool == false && (unknown["message"] as? String)?.contains("no_such_function_here") == true, "\(unknown)")
            #expect(HostProcess.waitForCPUUse(of: qemu.pid, seconds: 0.05, within: 10), "the guest runs on after the breakpoints were set")
            #expect(client.count(event: "stopped") == 0, "setting breakpoints while running reports no stop")
            _ = try client.body("pause", ["threadId": 1])
            let paused = try client.event("stopped", timeout: 20)
            #expect(paused["reason"] as? String == "pause", "\(paused)")
            #expect(paused["allThreadsStopped"] as? Bool == true)
            #expect(client.count(event: "stopped") == 1)
            // No serial capture when attached: the kernel's log ring comes as console output.
            #expect(client.output(category: "console").contains("["), "kernel log lines: \(client.output(category: "console"))")
            let frames = try #require(try client.body("stackTrace", ["threadId": paused["threadId"] as Any])["stackFrames"] as? [[String: Any]])
            #expect(!frames.isEmpty)
            // Resume, then the client vanishes mid-run: the adapter detaches and exits; QEMU lives on.
            _ = try client.body("continue", ["threadId": 1])
            client.closeInput()
            #expect(client.waitForExit(timeout: 20) == 0, "stderr: \(client.stderr)")
            #expect(HostProcess.isAlive(qemu.pid), "an attached QEMU outlives the adapter")
            #expect(client.violations.isEmpty, "\(client.violations)")
        }

        /// Bad input: an error response or a clean exit, never a crash or a hang.
        @Test func badInputGetsErrorResponsesOrACleanExit() throws {
            let client = try DAPClient()
            defer { client.stop() }
            let early = try client.request("threads")
            #expect(early["success"] as? Bool == false && (early["message"] as? String)?.contains("initialize") == true, "\(early)")
            _ = try client.body("initialize", ["adapterID": "mmdbg"])
            let unknown = try client.request("frobnicate")
            #expect(unknown["success"] as? Bool == false && (unknown["message"] as? String)?.contains("unknown request") == true)
            let wrongType = try client.request("launch", ["kernel": 42])
            #expect(wrongType["success"] as? Bool == false && (wrongType["message"] as? String)?.contains("`kernel` must be a string") == true, "\(wrongType)")
            let wrongList = try client.request("launch", ["qemuArgs": "-smp 2"])
            #expect(wrongList["success"] as? Bool == false && (wrongList["message"] as? String)?.contains("qemuArgs") == true)
            let noSession = try client.request("stackTrace", ["threadId": 1])
            #expect(noSession["success"] as? Bool == false && (noSession["message"] as? String)?.contains("launch") == true)
            let badAttach = try client.request("attach", ["gdbstub": "127.0.0.1:1"])
            #expect(badAttach["success"] as? Bool == false && (badAttach["message"] as? String)?.contains("cannot attach") == true, "\(badAttach)")
            // A body that is not JSON: said on output, and the adapter still answers.
            try client.sendRaw(Array("Content-Length: 9\r\n\r\n{not json".utf8))
            let still = try client.request("frobnicate")
            #expect(still["success"] as? Bool == false)
            #expect(client.output(category: "important").contains("not a JSON object"))
            // A huge Content-Length: refused, and the adapter ends cleanly.
            try client.sendRaw(Array("Content-Length: 999999999999\r\n\r\n".utf8))
            #expect(client.waitForExit(timeout: 10) == 1, "stderr: \(client.stderr)")
            #expect(client.output(category: "important").contains("Content-Length"))
            #expect(client.violations.isEmpty, "\(client.violations)")

            // A malformed header line.
            let malformed = try DAPClient()
            defer { malformed.stop() }
            try malformed.sendRaw(Array("Content-Lenght 12\r\n\r\n".utf8))
            #expect(malformed.waitForExit(timeout: 10) == 1)
            #expect(malformed.output(category: "important").contains("malformed DAP header"))

            // The client goes away in the middle of a request: a clean exit.
            let vanishing = try DAPClient()
            defer { vanishing.stop() }
            try vanishing.sendRaw(Array("Content-Length: 80\r\n\r\n{\"seq\":1,\"type\":\"request\",".utf8))
            vanishing.closeInput()
            #expect(vanishing.waitForExit(timeout: 10) == 0)
        }

        private func names(_ client: DAPClient, _ threadId: Int) throws -> [String] {
            let frames = try #require(try client.body("stackTrace", ["threadId": threadId])["stackFrames"] as? [[String: Any]])
            return frames.compactMap { $0["name"] as? String }
        }

        private func topFrame(_ client: DAPClient, _ threadId: Int) throws -> [String: Any] {
            let trace = try client.body("stackTrace", ["threadId": threadId, "startFrame": 0, "levels": 20])
            let frames = try #require(trace["stackFrames"] as? [[String: Any]])
            return try #require(frames.first { $0["presentationHint"] as? String != "label" })
        }
    }
}
