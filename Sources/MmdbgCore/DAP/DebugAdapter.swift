import Foundation

/// What `launch` asks for (the DAP request's arguments, checked).
public struct DAPLaunchArguments: Sendable {
    public var kernel: String?
    public var qemuArgs: [String] = []
    public var append: String?
    /// A folder to record into (`record: "DIR"`, or `record: true` = a fresh folder under the temporary directory).
    public var record: String?
    /// A recording folder to replay (reverse execution then works).
    public var replay: String?
    public var elf: String?
}

/// Why a launch or attach failed: the error response's message.
public struct DAPStartFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How the adapter starts sessions: the executable supplies these (it knows
/// how to build the bundled kernel, record and replay), the adapter maps DAP onto them.
public struct DAPSessionFactory {
    /// Boots QEMU as asked, stopped at its first instruction, and returns the attached session.
    public var launch: (DAPLaunchArguments) throws(DAPStartFailure) -> Session
    /// Attaches to a running gdbstub (`host:port` or a Unix socket path), with the ELF's symbols when given.
    public var attach: (_ address: String, _ elf: String?) throws(DAPStartFailure) -> Session

    public init(launch: @escaping (DAPLaunchArguments) throws(DAPStartFailure) -> Session,
                attach: @escaping (_ address: String, _ elf: String?) throws(DAPStartFailure) -> Session) {
        self.launch = launch
        self.attach = attach
    }
}

/// `mmdbg dap`: the Debug Adapter Protocol over a byte stream. A thin layer, as
/// the prompt is: every request becomes mmdbg command lines (`break FILE:LINE`,
/// `bt`, `regs`, `print`, `x/Ni`, `continue`…) run through `Session.execute`,
/// whose JSON results are mapped to DAP bodies; the run-control engine's
/// events (`RunControl.subscribe`) become `stopped`, `continued`, `output`,
/// `exited` and `terminated`.
///
/// Threads: a reader decodes frames and queues requests; one worker runs them
/// in order against the session. While the target runs (the worker waits in
/// `continue`), the reader answers `pause` (the session's interrupt request,
/// as Ctrl-C at the prompt), `threads` (the CPUs known at the last stop), and
/// turns `disconnect`/`terminate` or the end of the stream into an interrupt
/// followed by the request.
public final class DebugAdapter: @unchecked Sendable {
    let transport: DAPTransport
    let factory: DAPSessionFactory
    private let renderer = TextRenderer(colour: false)

    // Shared between the reader and the worker.
    private let lock = NSCondition()
    private var queue: [[String: Any]] = []
    private var inputEnded = false
    private var interruptPending = false
    private var running = false
    private var knownThreads: [Int] = [1]
    /// The run-control line the worker waits in (nil: none).
    private var runningLine: String?
    /// An interrupt the adapter asked for to set breakpoints during `continue`: its stop is not reported.
    private var silentInterrupt = false
    /// The client asked for `pause`: the next stop is reported whatever else interrupted.
    private var userPaused = false
    private var seq = 0

    // The worker's own state.
    private var session: Session?
    private var initialized = false
    private var finished = false
    private var stopOnEntry = false
    private var launchedByUs = false
    /// A request (continue, next, …) whose run was implied: no `continued` event for it (the spec's rule).
    private var impliedRun = false
    private var uartPrinted = 0
    private var logLinesSeen: [String] = []
    private var sourceBreakpoints: [String: [Int]] = [:]
    private var functionBreakpoints: [Int] = []
    private var instructionBreakpoints: [Int] = []
    private var dataBreakpoints: [Int] = []
    private var frames: [Int: (cpu: Int?, index: Int?)] = [:]
    private var references: [Int: VariableNode] = [:]
    private var exitedSent = false
    private var resumeAfterSilentStop = false
    /// 1 when the client counts lines (columns) from 0.
    private var lineBase = 0
    private var columnBase = 0

    /// A `variablesReference`: what expanding it shows. Valid until the target resumes.
    enum VariableNode {
        case registers(frame: Int?)
        case systemRegisters
        case kernel
        case command(String)
        case json(Any)
        case note(String)
        /// A command run with `frame N` selected (`info locals`, `info args`).
        case frameCommand(frame: Int, line: String)
    }

    public init(transport: DAPTransport, factory: DAPSessionFactory) {
        self.transport = transport
        self.factory = factory
    }

    /// Serves the client until `disconnect`, the end of the stream or an unreadable one; returns the exit status.
    public func run() -> Int32 {
        let reader = Thread { [self] in readLoop() }
        reader.start()
        var status: Int32 = 0
        while !finished {
            lock.lock()
            while queue.isEmpty && !inputEnded { lock.wait() }
            if queue.isEmpty {
                lock.unlock()
                break
            }
            let message = queue.removeFirst()
            lock.unlock()
            if message["_streamProblem"] != nil { status = 1; break }
            handle(message)
        }
        endSession(terminateDebuggee: nil)
        transport.close()
        return status
    }

    // MARK: reading

    private func readLoop() {
        var decoder = DAPFrameDecoder()
        while true {
            let bytes = transport.read()
            if bytes.isEmpty { break }
            decoder.append(bytes)
            do throws(DAPFrameDecoder.Problem) {
                while let body = try decoder.next() { receive(body) }
            } catch {
                // Nothing after a bad header can be trusted: say why, then end as at the end of the stream.
                sendEvent("output", ["category": "important", "output": "mmdbg dap: \(error.description); ending the session\n"])
                enqueue(["_streamProblem": true], interrupting: true)
                break
            }
        }
        lock.lock()
        inputEnded = true
        interruptPending = true
        lock.signal()
        lock.unlock()
    }

    private func receive(_ body: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let message = object as? [String: Any] else {
            sendEvent("output", ["category": "important", "output": "mmdbg dap: a message that is not a JSON object was ignored\n"])
            return
        }
        guard message["type"] as? String == "request", let command = message["command"] as? String,
              let requestSeq = message["seq"] as? Int else {
            sendEvent("output", ["category": "important", "output": "mmdbg dap: ignored a message that is not a request (needs type \"request\", seq and command)\n"])
            return
        }
        lock.lock()
        let isRunning = running
        let threads = knownThreads
        lock.unlock()
        if isRunning {
            switch command {
            case "pause":
                lock.lock(); interruptPending = true; userPaused = true; lock.unlock()
                respond(requestSeq, command, body: [:])
                return
            case "threads":
                respond(requestSeq, command, body: ["threads": threadList(threads)])
                return
            case "disconnect", "terminate":
                enqueue(message, interrupting: true)
                return
            case _ where Self.breakpointSetters.contains(command):
                // As gdb front ends do: stop the running target, set them, run on (no stopped event).
                lock.lock()
                let continuing = runningLine == "continue" || runningLine == "reverse-continue"
                if continuing { silentInterrupt = true }
                lock.unlock()
                enqueue(message, interrupting: continuing)
                return
            default: break
            }
        }
        enqueue(message, interrupting: false)
    }

    private func enqueue(_ message: [String: Any], interrupting: Bool) {
        lock.lock()
        queue.append(message)
        if interrupting { interruptPending = true }
        lock.signal()
        lock.unlock()
    }

    static let breakpointSetters: Set<String> = ["setBreakpoints", "setFunctionBreakpoints", "setInstructionBreakpoints", "setDataBreakpoints"]

    /// Takes the queued breakpoint requests (the rest stay queued, in order).
    private func takeQueuedBreakpointRequests() -> (requests: [[String: Any]], othersEnd: Bool) {
        lock.lock(); defer { lock.unlock() }
        let taken = queue.filter { Self.breakpointSetters.contains($0["command"] as? String ?? "") }
        queue.removeAll { Self.breakpointSetters.contains($0["command"] as? String ?? "") }
        let ending = inputEnded || queue.contains { ["disconnect", "terminate"].contains($0["command"] as? String ?? "") || $0["_streamProblem"] != nil }
        return (taken, ending)
    }

    private func consumeInterrupt() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let pending = interruptPending
        interruptPending = false
        return pending
    }

    private func setRunning(_ value: Bool) {
        lock.lock(); running = value; lock.unlock()
    }

    // MARK: writing

    private func nextSeq() -> Int {
        lock.lock(); defer { lock.unlock() }
        seq += 1
        return seq
    }

    private func respond(_ requestSeq: Int, _ command: String, body: [String: Any]?) {
        var message: [String: Any] = ["seq": nextSeq(), "type": "response", "request_seq": requestSeq,
                                      "success": true, "command": command]
        if let body { message["body"] = body }
        transport.send(message)
    }

    private func fail(_ requestSeq: Int, _ command: String, _ text: String) {
        transport.send(["seq": nextSeq(), "type": "response", "request_seq": requestSeq, "success": false,
                        "command": command, "message": text,
                        "body": ["error": ["id": 1, "format": text.replacingOccurrences(of: "{", with: "(").replacingOccurrences(of: "}", with: ")"),
                                           "showUser": true]]])
    }

    private func sendEvent(_ event: String, _ body: [String: Any]? = nil) {
        var message: [String: Any] = ["seq": nextSeq(), "type": "event", "event": event]
        if let body { message["body"] = body }
        transport.send(message)
    }

    // MARK: requests

    /// A request's arguments failed their checks.
    struct BadRequest: Error { let message: String }

    private func handle(_ message: [String: Any]) {
        let command = message["command"] as! String
        let requestSeq = message["seq"] as! Int
        let arguments: [String: Any]
        if message["arguments"] == nil || message["arguments"] is NSNull {
            arguments = [:]
        } else if let given = message["arguments"] as? [String: Any] {
            arguments = given
        } else {
            return fail(requestSeq, command, "\(command): `arguments` must be an object")
        }
        if !initialized && command != "initialize" {
            return fail(requestSeq, command, "\(command): the first request must be `initialize`")
        }
        do {
            if let body = try dispatch(command, arguments, requestSeq) {
                respond(requestSeq, command, body: body)
            }
        } catch let bad as BadRequest {
            fail(requestSeq, command, bad.message)
        } catch let error as CommandError {
            fail(requestSeq, command, error.description)
        } catch {
            fail(requestSeq, command, "\(error)")
        }
    }

    /// Runs one request; returns the response body, or nil when the handler already responded.
    private func dispatch(_ command: String, _ args: [String: Any], _ requestSeq: Int) throws -> [String: Any]? {
        switch command {
        case "initialize":
            if initialized { throw BadRequest(message: "initialize: already initialized") }
            // mmdbg counts lines and columns from 1, as DAP does unless the client says otherwise.
            lineBase = try optionalBool(args, "linesStartAt1") == false ? 1 : 0
            columnBase = try optionalBool(args, "columnsStartAt1") == false ? 1 : 0
            initialized = true
            return Self.capabilities
        case "launch": return try launch(args)
        case "attach": return try attach(args)
        case "configurationDone":
            let session = try requireSession(command)
            respond(requestSeq, command, body: nil)
            if stopOnEntry || session.state == .running {
                if case .stopped = session.state {
                    sendEvent("stopped", ["reason": "entry", "threadId": session.target?.lastStopCPU ?? 1, "allThreadsStopped": true])
                }
            } else {
                runCommand("continue", requestSeq: nil)
            }
            return nil
        case "disconnect", "terminate":
            let terminate = args["terminateDebuggee"] as? Bool ?? (command == "terminate" ? true : nil)
            if command == "terminate" {
                respond(requestSeq, command, body: nil)
                endSession(terminateDebuggee: terminate)
                return nil
            }
            endSession(terminateDebuggee: terminate)
            respond(requestSeq, command, body: nil)
            finished = true
            return nil
        case "setBreakpoints": return try setBreakpoints(args)
        case "setFunctionBreakpoints": return try setFunctionBreakpoints(args)
        case "setInstructionBreakpoints": return try setInstructionBreakpoints(args)
        case "dataBreakpointInfo": return try dataBreakpointInfo(args)
        case "setDataBreakpoints": return try setDataBreakpoints(args)
        case "setExceptionBreakpoints": return ["breakpoints": []]
        case "continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue":
            _ = try requireSession(command)
            let instruction = try optionalString(args, "granularity") == "instruction"
            let line: String
            switch command {
            case "continue": line = "continue"
            case "next": line = instruction ? "nexti" : "next"
            case "stepIn": line = instruction ? "stepi" : "step"
            case "stepOut": line = "finish"
            case "stepBack": line = instruction ? "reverse-stepi" : "reverse-next"
            default: line = "reverse-continue"
            }
            guard case .stopped = session!.state else { throw BadRequest(message: "\(command): the target is not stopped") }
            if session!.target?.canReverse != true, command == "stepBack" || command == "reverseContinue" {
                throw BadRequest(message: "\(command): the target is not replaying a recording (launch with `replay`)")
            }
            respond(requestSeq, command, body: command == "continue" || command == "reverseContinue" ? ["allThreadsContinued": true] : [:])
            runCommand(line, requestSeq: requestSeq)
            return nil
        case "pause":
            // Reached only while stopped (a running target's pause is answered by the reader).
            _ = try requireSession(command)
            return [:]
        case "threads":
            guard let session else { return ["threads": threadList([1])] }
            return ["threads": threadList(refreshThreads(session))]
        case "stackTrace": return try stackTrace(args)
        case "scopes": return try scopes(args)
        case "variables": return try variables(args)
        case "setVariable": return try setVariable(args)
        case "evaluate": return try evaluate(args, requestSeq)
        case "readMemory": return try readMemory(args)
        case "writeMemory": return try writeMemory(args)
        case "disassemble": return try disassemble(args)
        case "loadedSources": return try loadedSources()
        case "source":
            throw BadRequest(message: "source: mmdbg gives every frame a file path; it has no source by reference")
        default:
            throw BadRequest(message: "unknown request \"\(command)\"")
        }
    }

    /// What `initialize` answers: only what this adapter implements.
    static var capabilities: [String: Any] { [
        "supportsConfigurationDoneRequest": true,
        "supportsFunctionBreakpoints": true,
        "supportsInstructionBreakpoints": true,
        "supportsDataBreakpoints": true,
        "supportsSetVariable": true,
        "supportsEvaluateForHovers": true,
        "supportsReadMemoryRequest": true,
        "supportsWriteMemoryRequest": true,
        "supportsDisassembleRequest": true,
        "supportsLoadedSourcesRequest": true,
        "supportsSteppingGranularity": true,
        "supportsStepBack": true,
        "supportsTerminateRequest": true,
        "supportTerminateDebuggee": true,
        "supportsConditionalBreakpoints": false,
        "supportsHitConditionalBreakpoints": false,
        "supportsLogPoints": false,
        "supportsRestartRequest": false,
        "supportsExceptionInfoRequest": false,
        "exceptionBreakpointFilters": [] as [Any],
    ] }

    // MARK: session lifecycle

    private func launch(_ args: [String: Any]) throws -> [String: Any] {
        if session != nil { throw BadRequest(message: "launch: a session is already running") }
        var request = DAPLaunchArguments()
        request.kernel = try optionalString(args, "kernel")
        request.append = try optionalString(args, "append")
        request.elf = try optionalString(args, "elf")
        request.replay = try optionalString(args, "replay")
        if let list = args["qemuArgs"] {
            guard let strings = list as? [String] else { throw BadRequest(message: "launch: `qemuArgs` must be an array of strings") }
            request.qemuArgs = strings
        }
        if let folder = args["record"] as? String {
            request.record = folder
        } else if args["record"] == nil || args["record"] is NSNull {
            request.record = nil
        } else if let flag = try? optionalBool(args, "record") {
            if flag {
                request.record = FileManager.default.temporaryDirectory
                    .appendingPathComponent("mmdbg-recording-\(getpid())-\(Int(Date().timeIntervalSince1970))").path
            }
        } else {
            throw BadRequest(message: "launch: `record` must be true or a folder path")
        }
        if request.record != nil && request.replay != nil { throw BadRequest(message: "launch: `record` and `replay` exclude each other") }
        stopOnEntry = try optionalBool(args, "stopOnEntry") ?? false
        let session: Session
        do { session = try factory.launch(request) } catch { throw BadRequest(message: "launch: \(error.description)") }
        adopt(session)
        launchedByUs = true
        if let record = request.record {
            sendEvent("output", ["category": "console", "output": "recording into \(record) (replay it with launch `replay`)\n"])
        }
        afterStart()
        return [:]
    }

    private func attach(_ args: [String: Any]) throws -> [String: Any] {
        if session != nil { throw BadRequest(message: "attach: a session is already running") }
        guard let address = try optionalString(args, "gdbstub") else {
            throw BadRequest(message: "attach: `gdbstub` (HOST:PORT or a Unix socket path) is required")
        }
        let elf = try optionalString(args, "elf")
        stopOnEntry = try optionalBool(args, "stopOnEntry") ?? false
        let session: Session
        do { session = try factory.attach(address, elf) } catch { throw BadRequest(message: "attach: \(error.description)") }
        adopt(session)
        launchedByUs = false
        afterStart()
        return [:]
    }

    private func adopt(_ session: Session) {
        self.session = session
        session.interactive = true  // no deadline: the client pauses
        session.progress = nil
        session.interruptRequested = { [weak self] in self?.consumeInterrupt() ?? false }
        session.runControl.subscribe { [weak self] event in self?.runControlEvent(event) }
        uartPrinted = 0
    }

    private func afterStart() {
        guard let session else { return }
        _ = refreshThreads(session)
        flushOutput()
        flushKernelLog()
        sendEvent("initialized", [:])
    }

    /// Kills what we launched, detaches from what we attached to; `terminateDebuggee: true` also quits an attached QEMU.
    private func endSession(terminateDebuggee: Bool?) {
        guard let session else { return }
        self.session = nil
        if terminateDebuggee == true, !launchedByUs, session.target != nil {
            _ = session.execute(line: "monitor quit")
        }
        session.end()
        flushOutput(from: session)
        if !exitedSent {
            exitedSent = true
            sendEvent("terminated", [:])
        }
    }

    private func requireSession(_ command: String) throws -> Session {
        guard let session else { throw BadRequest(message: "\(command): no debug session (send `launch` or `attach` first)") }
        return session
    }

    // MARK: run control

    /// Runs a run-control command line; the stop arrives as events from the engine.
    private func runCommand(_ line: String, requestSeq: Int?) {
        guard let session else { return }
        impliedRun = true
        lock.lock(); interruptPending = false; userPaused = false; running = true; runningLine = line; lock.unlock()
        var result = session.execute(line: line)
        while resumeAfterSilentStop {
            // Stopped to set breakpoints the client sent while it ran: set them, then run on.
            resumeAfterSilentStop = false
            let (requests, ending) = takeQueuedBreakpointRequests()
            for request in requests { handle(request) }
            guard !ending, case .stopped = session.state else { break }
            lock.lock(); interruptPending = userPaused; running = true; lock.unlock()
            result = session.execute(line: line)
        }
        lock.lock(); runningLine = nil; silentInterrupt = false; lock.unlock()
        impliedRun = false
        setRunning(false)
        if let error = result.error, error.stop == nil {
            sendEvent("output", ["category": "stderr", "output": "\(line): \(error.description)\n"])
            // The client was told the target runs: tell it where it is.
            if case .stopped = session.state { sendStopped(reason: "exception", description: error.description, cpu: session.target?.lastStopCPU, hit: nil) }
        }
    }

    private func runControlEvent(_ event: RunControlEvent) {
        switch event {
        case .continued:
            references.removeAll()
            frames.removeAll()
            setRunning(true)
            if !impliedRun { sendEvent("continued", ["threadId": 1, "allThreadsContinued": true]) }
        case .output:
            flushOutput()
        case .stopped(let report):
            lock.lock()
            let silent = report.event == .interrupted && silentInterrupt && !userPaused
            silentInterrupt = false
            lock.unlock()
            if silent {
                resumeAfterSilentStop = true
                return
            }
            setRunning(false)
            references.removeAll()
            frames.removeAll()
            flushOutput()
            flushKernelLog()
            if let session { _ = refreshThreads(session) }
            let reason: String
            switch report.event {
            case .breakpoint:
                // Which kind of DAP breakpoint it is: the request that set it.
                let id = report.breakpoint ?? 0
                reason = functionBreakpoints.contains(id) ? "function breakpoint"
                    : instructionBreakpoints.contains(id) ? "instruction breakpoint" : "breakpoint"
            case .watchpoint: reason = "data breakpoint"
            case .step, .returned, .stepLimit, .recordingBoundary: reason = "step"
            case .interrupted, .deadline: reason = "pause"
            case .injection, .signal: reason = "exception"
            case .exited, .terminated, .running: reason = "step"
            }
            sendStopped(reason: reason, description: report.reason, cpu: report.cpu,
                        hit: report.event == .breakpoint || report.event == .watchpoint ? report.breakpoint : nil)
        case .exited(let report):
            setRunning(false)
            flushOutput()
            guard !exitedSent else { return }
            exitedSent = true
            sendEvent("exited", ["exitCode": report.classification.exitStatus ?? (report.classification.signal.map { 128 + $0 } ?? 0)])
            sendEvent("terminated", [:])
        }
    }

    private func sendStopped(reason: String, description: String, cpu: Int?, hit: Int?) {
        var body: [String: Any] = ["reason": reason, "description": description, "threadId": cpu ?? 1,
                                   "allThreadsStopped": true]
        if let hit { body["hitBreakpointIds"] = [hit] }
        sendEvent("stopped", body)
    }

    /// The kernel log ring's lines new since the last stop, as `output` events (category console):
    /// the guest's own words when mmdbg attached and so has no serial capture.
    private func flushKernelLog() {
        guard let session, session.launchedQEMU == nil, session.symbols != nil,
              let lines = (try? object("log"))?["lines"] as? [String] else { return }
        var fresh = lines
        if lines.starts(with: logLinesSeen) {
            fresh = Array(lines.dropFirst(logLinesSeen.count))
        } else if let last = logLinesSeen.last, let index = lines.lastIndex(of: last) {
            fresh = Array(lines[(index + 1)...])  // the ring wrapped
        }
        logLinesSeen = lines
        if !fresh.isEmpty { sendEvent("output", ["category": "console", "output": fresh.joined(separator: "\n") + "\n"]) }
    }

    /// The guest's serial output since the last call, as `output` events (category stdout).
    private func flushOutput(from ended: Session? = nil) {
        guard let qemu = (session ?? ended)?.launchedQEMU else { return }
        let text = qemu.outputText
        let bytes = text.utf8
        guard bytes.count > uartPrinted else { return }
        let fresh = String(decoding: bytes.dropFirst(uartPrinted), as: UTF8.self)
        uartPrinted = bytes.count
        sendEvent("output", ["category": "stdout", "output": fresh])
    }

    private func refreshThreads(_ session: Session) -> [Int] {
        guard case .stopped = session.state, let target = session.target,
              let numbers = try? target.cpuNumbers(), !numbers.isEmpty else { return knownThreads }
        lock.lock(); knownThreads = numbers; lock.unlock()
        return numbers
    }

    private func threadList(_ numbers: [Int]) -> [[String: Any]] {
        numbers.map { ["id": $0, "name": "CPU \($0 - 1)"] }
    }

    // MARK: commands and their JSON

    /// Runs a line; its JSON result as Foundation objects, or the command's one-line error.
    private func json(_ line: String) throws -> Any {
        let session = try requireSession(line.split(separator: " ").first.map(String.init) ?? line)
        let result = session.execute(line: line)
        switch result.outcome {
        case .success(let output):
            return (try? JSONSerialization.jsonObject(with: Data(output.json.serialized().utf8), options: [.fragmentsAllowed])) ?? NSNull()
        case .failure(let error): throw error
        }
    }

    private func object(_ line: String) throws -> [String: Any] {
        try json(line) as? [String: Any] ?? [:]
    }

    /// Selects the CPU a thread stands for (only when the target has several).
    private func selectThread(_ threadId: Int?) throws {
        guard let threadId, let session else { return }
        let threads = refreshThreads(session)
        guard threads.count > 1 else { return }
        guard threads.contains(threadId) else { throw BadRequest(message: "no thread \(threadId): the target has CPUs 0-\(threads.count - 1)") }
        if session.selectedCPU != threadId - 1 { _ = try object("cpu \(threadId - 1)") }
    }

    // MARK: breakpoints

    private func deleteBreakpoints(_ ids: [Int]) {
        guard !ids.isEmpty, let session else { return }
        _ = session.execute(line: "delete " + ids.map(String.init).joined(separator: " "))
    }

    /// One `break`-family line as a DAP Breakpoint.
    private func breakpoint(_ line: String, collect ids: inout [Int]) -> [String: Any] {
        do {
            let result = try object(line)
            guard let id = result["id"] as? Int else { return ["verified": false, "message": "no breakpoint id"] }
            ids.append(id)
            var entry: [String: Any] = ["id": id, "verified": true]
            if let address = result["address"] as? String, !((result["type"] as? String ?? "").contains("watch")) {
                entry["instructionReference"] = address
            }
            if let line = result["line"] as? Int { entry["line"] = line - lineBase }
            if let file = result["file"] as? String { entry["source"] = source(file) }
            return entry
        } catch {
            return ["verified": false, "message": "\(error)"]
        }
    }

    private func setBreakpoints(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("setBreakpoints")
        guard let source = args["source"] as? [String: Any] else { throw BadRequest(message: "setBreakpoints: `source` must be an object") }
        guard let path = (source["path"] as? String) ?? (source["name"] as? String) else {
            throw BadRequest(message: "setBreakpoints: `source.path` must be a string")
        }
        var lines: [Int] = []
        if let list = args["breakpoints"] {
            guard let items = list as? [[String: Any]] else { throw BadRequest(message: "setBreakpoints: `breakpoints` must be an array of objects") }
            for item in items {
                guard let line = try optionalInt(item, "line"), line + lineBase > 0 else {
                    throw BadRequest(message: "setBreakpoints: every breakpoint needs a positive integer `line`")
                }
                lines.append(line + lineBase)
            }
        } else if let list = args["lines"] {
            guard let items = list as? [Int] else { throw BadRequest(message: "setBreakpoints: `lines` must be an array of integers") }
            lines = items.map { $0 + lineBase }
        }
        deleteBreakpoints(sourceBreakpoints[path] ?? [])
        var ids: [Int] = []
        let results = lines.map { breakpoint("break \(Self.quoted("\(path):\($0)"))", collect: &ids) }
        sourceBreakpoints[path] = ids
        return ["breakpoints": results]
    }

    private func setFunctionBreakpoints(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("setFunctionBreakpoints")
        guard let items = args["breakpoints"] as? [[String: Any]] else { throw BadRequest(message: "setFunctionBreakpoints: `breakpoints` must be an array of objects") }
        let names = try items.map { item throws -> String in
            guard let name = item["name"] as? String, !name.isEmpty else { throw BadRequest(message: "setFunctionBreakpoints: every breakpoint needs a `name` string") }
            return name
        }
        deleteBreakpoints(functionBreakpoints)
        var ids: [Int] = []
        let results = names.map { breakpoint("break \(Self.quoted($0))", collect: &ids) }
        functionBreakpoints = ids
        return ["breakpoints": results]
    }

    private func setInstructionBreakpoints(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("setInstructionBreakpoints")
        guard let items = args["breakpoints"] as? [[String: Any]] else { throw BadRequest(message: "setInstructionBreakpoints: `breakpoints` must be an array of objects") }
        let places = try items.map { item throws -> String in
            guard let reference = item["instructionReference"] as? String else {
                throw BadRequest(message: "setInstructionBreakpoints: every breakpoint needs an `instructionReference` string")
            }
            let offset = try optionalInt(item, "offset") ?? 0
            return offset == 0 ? reference : "\(reference)\(offset < 0 ? "-" : "+")\(abs(offset))"
        }
        deleteBreakpoints(instructionBreakpoints)
        var ids: [Int] = []
        let results = places.map { breakpoint("break \(Self.quoted("*" + $0))", collect: &ids) }
        instructionBreakpoints = ids
        return ["breakpoints": results]
    }

    /// A variable or expression's address and size as a data breakpoint id `ADDR/LEN`.
    private func dataBreakpointInfo(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("dataBreakpointInfo")
        guard let name = args["name"] as? String else { throw BadRequest(message: "dataBreakpointInfo: `name` must be a string") }
        let accessTypes = ["read", "write", "readWrite"]
        if let printed = try? object("print \(name)"), let address = printed["address"] as? String {
            var size = 8
            if let type = try? object("ptype \(name)"), let bytes = type["size"] as? Int, bytes > 0 { size = min(bytes, 8) }
            return ["dataId": "\(address)/\(size)", "description": "\(name) (\(size) bytes at \(address))", "accessTypes": accessTypes]
        }
        // An address expression (`mm_pool`, `$sp+16`, `0x…`): 8 bytes there.
        do {
            let address = try session!.evaluate(name)
            return ["dataId": "\(Hex.format(address))/8", "description": "8 bytes at \(Hex.format(address))", "accessTypes": accessTypes]
        } catch {
            return ["dataId": NSNull(), "description": "\(name): \(error.description)"]
        }
    }

    private func setDataBreakpoints(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("setDataBreakpoints")
        guard let items = args["breakpoints"] as? [[String: Any]] else { throw BadRequest(message: "setDataBreakpoints: `breakpoints` must be an array of objects") }
        let lines = try items.map { item throws -> String in
            guard let dataId = item["dataId"] as? String else { throw BadRequest(message: "setDataBreakpoints: every breakpoint needs a `dataId` string") }
            let parts = dataId.split(separator: "/")
            let command: String
            switch item["accessType"] as? String {
            case "read": command = "rwatch"
            case "readWrite": command = "awatch"
            default: command = "watch"
            }
            return "\(command) \(parts[0])" + (parts.count > 1 ? " \(parts[1])" : "")
        }
        deleteBreakpoints(dataBreakpoints)
        var ids: [Int] = []
        let results = lines.map { breakpoint($0, collect: &ids) }
        dataBreakpoints = ids
        return ["breakpoints": results]
    }

    // MARK: stack, scopes, variables

    private func stackTrace(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("stackTrace")
        let threadId = try optionalInt(args, "threadId")
        try selectThread(threadId)
        let start = max(0, try optionalInt(args, "startFrame") ?? 0)
        let levels = try optionalInt(args, "levels") ?? 0
        let trace = try object("bt")
        let backtrace = trace["frames"] as? [[String: Any]] ?? []
        var result: [[String: Any]] = []
        for frame in backtrace {
            let index = frame["index"] as? Int ?? 0
            if let boundary = frame["boundary"] as? String {
                // The exception entry between two frames: a label, as an editor shows a separator.
                let id = frames.count + 1
                frames[id] = (threadId, nil)
                result.append(["id": id, "name": "── \(boundary) ──", "line": 0, "column": 0, "presentationHint": "label"])
            }
            let id = frames.count + 1
            frames[id] = (threadId, index)
            var entry: [String: Any] = ["id": id, "name": frame["function"] as? String ?? "??",
                                        "line": (frame["line"] as? Int).map { $0 - lineBase } ?? 0,
                                        "column": (frame["column"] as? Int).map { max(0, $0 - columnBase) } ?? 0]
            if let pc = frame["pc"] as? String { entry["instructionPointerReference"] = pc }
            if let file = frame["file"] as? String { entry["source"] = source(file) } else { entry["presentationHint"] = "subtle" }
            result.append(entry)
        }
        let slice = Array(result.dropFirst(start).prefix(levels > 0 ? levels : Int.max))
        return ["stackFrames": slice, "totalFrames": result.count]
    }

    /// A DAP Source for a file the DWARF names.
    private func source(_ file: String) -> [String: Any] {
        var entry: [String: Any] = ["name": (file as NSString).lastPathComponent]
        // Editors want absolute paths; the DWARF may name a file relative to the build directory (ours: the package root).
        let path = URL(fileURLWithPath: file).standardizedFileURL.path
        if !file.hasPrefix("<"), FileManager.default.fileExists(atPath: path) { entry["path"] = path } else { entry["presentationHint"] = "deemphasize" }
        return entry
    }

    private func reference(_ node: VariableNode) -> Int {
        let id = references.count + 1
        references[id] = node
        return id
    }

    private func scopes(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("scopes")
        guard let frameId = try optionalInt(args, "frameId") else { throw BadRequest(message: "scopes: `frameId` must be an integer") }
        guard let frame = frames[frameId] else { throw BadRequest(message: "scopes: no frame \(frameId) at this stop (ask `stackTrace` again)") }
        guard let index = frame.index else { return ["scopes": []] }  // a label
        return ["scopes": [
            ["name": "Locals", "presentationHint": "locals", "variablesReference": reference(.frameCommand(frame: index, line: "info locals")), "expensive": false],
            ["name": "Arguments", "presentationHint": "arguments", "variablesReference": reference(.frameCommand(frame: index, line: "info args")), "expensive": false],
            ["name": "Registers", "presentationHint": "registers", "variablesReference": reference(.registers(frame: index)), "expensive": false],
            ["name": "System registers", "variablesReference": reference(.systemRegisters), "expensive": true],
            ["name": "Kernel", "variablesReference": reference(.kernel), "expensive": true],
        ]]
    }

    static let systemRegisters = ["CurrentEL", "SCTLR_EL1", "TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "VBAR_EL1",
                                  "ESR_EL1", "FAR_EL1", "ELR_EL1", "SPSR_EL1", "SP_EL0", "SP_EL1", "DAIF"]

    private func variables(_ args: [String: Any]) throws -> [String: Any] {
        _ = try requireSession("variables")
        guard let id = try optionalInt(args, "variablesReference") else { throw BadRequest(message: "variables: `variablesReference` must be an integer") }
        guard let node = references[id] else { throw BadRequest(message: "variables: no variablesReference \(id) at this stop") }
        var list: [[String: Any]]
        switch node {
        case .note(let text):
            list = [["name": "(locals)", "value": text, "variablesReference": 0]]
        case .frameCommand(let frame, let line):
            // gdb's `info locals`/`info args`; where they fail (no DWARF scope at this PC) one variable says why.
            _ = try? object("frame \(frame)")
            do { list = namedValues(try json(line)) } catch {
                list = [["name": "(unavailable)", "value": "`\(line)`: \(error)", "variablesReference": 0]]
            }
        case .registers(let frame):
            if let frame { _ = try? object("frame \(frame)") }
            list = registerVariables(try object("regs"))
        case .systemRegisters:
            if let all = try? object("regs " + Self.systemRegisters.joined(separator: " ")) {
                list = registerVariables(all)
            } else {
                list = Self.systemRegisters.compactMap { try? object("regs \($0)") }.flatMap(registerVariables)
            }
        case .kernel:
            list = [("tasks", "tasks"), ("cpus", "cpus"), ("address space", "pt"), ("kernel page tables", "pt kernel"),
                    ("log", "log --last 32")].map { name, line in
                ["name": name, "value": "`\(line)`", "variablesReference": reference(.command(line)), "presentationHint": ["lazy": true]]
            }
        case .command(let line):
            do { list = children(of: try json(line), command: line) } catch {
                list = [["name": "error", "value": "\(error)", "variablesReference": 0]]
            }
        case .json(let value):
            list = children(of: value, command: nil)
        }
        let start = max(0, try optionalInt(args, "start") ?? 0)
        let count = try optionalInt(args, "count") ?? 0
        if start > 0 || count > 0 { list = Array(list.dropFirst(start).prefix(count > 0 ? count : Int.max)) }
        return ["variables": list]
    }

    /// A result holding one list of `{name, value, type?}` objects as those variables; else its fields.
    private func namedValues(_ result: Any) -> [[String: Any]] {
        guard let object = result as? [String: Any],
              let items = object.values.compactMap({ $0 as? [[String: Any]] }).first,
              items.allSatisfy({ $0["name"] is String }) else { return children(of: result, command: nil) }
        return items.map { item in
            var entry: [String: Any] = ["name": item["name"] as! String, "variablesReference": 0]
            let value = item["value"] ?? NSNull()
            if value is [String: Any] || value is [Any] {
                entry["value"] = (value as? [String: Any]).map(summary) ?? "[\((value as? [Any])?.count ?? 0)]"
                entry["variablesReference"] = reference(.json(value))
            } else {
                entry["value"] = scalar(value)
            }
            if let type = item["type"] as? String { entry["type"] = type }
            return entry
        }
    }

    private func registerVariables(_ result: [String: Any]) -> [[String: Any]] {
        (result["registers"] as? [[String: Any]] ?? []).map { register in
            let value = register["value"] as? String ?? "(not saved)"
            let symbol = (register["symbol"] as? String).map { " <\($0)>" } ?? ""
            var entry: [String: Any] = ["name": register["name"] as? String ?? "?", "value": value + symbol, "variablesReference": 0]
            if value.hasPrefix("0x") { entry["memoryReference"] = value }
            return entry
        }
    }

    /// A JSON result's fields (or elements) as variables; containers expand lazily.
    private func children(of value: Any, command: String?) -> [[String: Any]] {
        var list: [[String: Any]] = []
        func add(_ name: String, _ child: Any) {
            var entry: [String: Any] = ["name": name]
            switch child {
            case let object as [String: Any]:
                entry["value"] = summary(object)
                entry["variablesReference"] = reference(.json(object))
                entry["namedVariables"] = object.count
            case let array as [Any]:
                entry["value"] = "[\(array.count)]"
                entry["variablesReference"] = array.isEmpty ? 0 : reference(.json(array))
                entry["indexedVariables"] = array.count
            default:
                entry["value"] = scalar(child)
                entry["variablesReference"] = 0
                if let text = child as? String, text.hasPrefix("0x") { entry["memoryReference"] = text }
            }
            list.append(entry)
        }
        switch value {
        case let object as [String: Any]:
            for key in object.keys.sorted() { add(key, object[key]!) }
            if let pid = object["pid"] as? Int, object["slot"] == nil {
                list.append(["name": "details", "value": "`task \(pid)`", "variablesReference": reference(.command("task \(pid)"))])
            }
        case let array as [Any]:
            for (index, element) in array.enumerated() { add("[\(index)]", element) }
        default:
            add(command ?? "value", value)
        }
        return list
    }

    private func summary(_ object: [String: Any]) -> String {
        let keys = ["pid", "name", "cpu", "state", "vaStart", "size", "text", "function"].filter { object[$0] != nil }
        if keys.isEmpty { return "{…}" }
        return keys.prefix(3).map { "\($0): \(scalar(object[$0]!))" }.joined(separator: ", ")
    }

    private func scalar(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case let text as String: return text
        case let number as NSNumber:
            if Self.isBoolean(number) { return number.boolValue ? "true" : "false" }
            return number.stringValue
        default: return "\(value)"
        }
    }

    private func setVariable(_ args: [String: Any]) throws -> [String: Any] {
        let session = try requireSession("setVariable")
        guard let id = try optionalInt(args, "variablesReference"), let node = references[id] else {
            throw BadRequest(message: "setVariable: no such `variablesReference` at this stop")
        }
        guard let name = args["name"] as? String, let text = args["value"] as? String else {
            throw BadRequest(message: "setVariable: `name` and `value` must be strings")
        }
        // Locals and arguments: `set var` in that frame (memory, or a register of frame 0), read back.
        if case .frameCommand(let frame, _) = node {
            _ = try? object("frame \(frame)")
            let result = session.execute(line: "set var \(name) = \(text)")
            switch result.outcome {
            case .failure(let error): throw BadRequest(message: error.description)
            case .success(let output):
                var shown = renderer.render(output).trimmingCharacters(in: .whitespacesAndNewlines)
                if let equals = shown.range(of: " = ") { shown = String(shown[equals.upperBound...]) }
                return ["value": shown, "variablesReference": 0]
            }
        }
        guard case .registers(let frame) = node, frame == 0 || frame == nil else {
            throw BadRequest(message: "setVariable: registers of frame 0, locals and arguments can be set")
        }
        let target = try session.requireStoppedTarget(for: "setVariable")
        let value = try session.evaluate(text)
        try target.writeRegister(name, value: value)
        session.invalidateCaches()
        let read = try session.registerValue(name)
        return ["value": Hex.format(read), "variablesReference": 0]
    }

    // MARK: evaluate

    private func evaluate(_ args: [String: Any], _ requestSeq: Int) throws -> [String: Any]? {
        let session = try requireSession("evaluate")
        guard let expression = args["expression"] as? String else { throw BadRequest(message: "evaluate: `expression` must be a string") }
        let context = try optionalString(args, "context") ?? "repl"
        if let frameId = try optionalInt(args, "frameId"), let frame = frames[frameId], let index = frame.index {
            try selectThread(frame.cpu)
            _ = try? object("frame \(index)")
        }
        if context == "repl" {
            let result = runReplLine(expression, session)
            if let error = result.error { throw BadRequest(message: error.description) }
            if session.quitRequested {
                // `quit` in the console ends the session as at the prompt.
                respond(requestSeq, "evaluate", body: ["result": result.text, "variablesReference": 0])
                endSession(terminateDebuggee: nil)
                return nil
            }
            return ["result": result.text, "variablesReference": 0]
        }
        let result = session.execute(line: "print \(expression)")
        switch result.outcome {
        case .failure(let error): throw BadRequest(message: error.description)
        case .success(let output):
            let value = (try? JSONSerialization.jsonObject(with: Data(output.json.serialized().utf8))) as? [String: Any] ?? [:]
            var text = renderer.render(output)
            if let equals = text.range(of: " = "), text.hasPrefix("$") { text = String(text[equals.upperBound...]) }
            var body: [String: Any] = ["result": text, "variablesReference": 0]
            if let type = value["type"] as? String { body["type"] = type }
            if let address = value["address"] as? String { body["memoryReference"] = address }
            if let inner = value["value"], inner is [String: Any] || inner is [Any] {
                body["variablesReference"] = reference(.json(inner))
            }
            return body
        }
    }

    /// A Debug Console line: any mmdbg command; run-control commands report their stops as events.
    private func runReplLine(_ line: String, _ session: Session) -> (text: String, error: CommandError?) {
        let result = session.execute(line: line)
        setRunning(false)
        switch result.outcome {
        case .success(let output): return (renderer.render(output), nil)
        case .failure(let error): return ("", error)
        }
    }

    // MARK: memory

    /// `0x…`, any address expression, or `phys:ADDR` for guest-physical memory.
    private func memoryAddress(_ args: [String: Any], _ command: String) throws -> (address: UInt64, physical: Bool) {
        let session = try requireSession(command)
        guard let reference = args["memoryReference"] as? String else { throw BadRequest(message: "\(command): `memoryReference` must be a string") }
        let physical = reference.hasPrefix("phys:")
        let base = try session.evaluate(physical ? String(reference.dropFirst(5)) : reference)
        let offset = try optionalInt(args, "offset") ?? 0
        return (offset >= 0 ? base &+ UInt64(offset) : base &- UInt64(-offset), physical)
    }

    private func readMemory(_ args: [String: Any]) throws -> [String: Any] {
        let (address, physical) = try memoryAddress(args, "readMemory")
        guard let count = try optionalInt(args, "count"), count >= 0 else { throw BadRequest(message: "readMemory: `count` must be a non-negative integer") }
        guard count <= 1 << 20 else { throw BadRequest(message: "readMemory: at most 1 MiB at a time (asked for \(count) bytes)") }
        let session = session!
        let target = try session.requireStoppedTarget(for: "readMemory")
        let reference = (physical ? "phys:" : "") + Hex.format(address)
        if count == 0 { return ["address": reference] }
        do {
            let bytes = physical ? try target.readMemory(at: address, count: count, physical: true)
                                 : try session.readVirtualMemory(at: address, count: count)
            return ["address": reference, "data": Data(bytes).base64EncodedString()]
        } catch {
            return ["address": reference, "unreadableBytes": count]
        }
    }

    private func writeMemory(_ args: [String: Any]) throws -> [String: Any] {
        let (address, physical) = try memoryAddress(args, "writeMemory")
        guard let text = args["data"] as? String, let data = Data(base64Encoded: text) else {
            throw BadRequest(message: "writeMemory: `data` must be base64")
        }
        if physical { throw BadRequest(message: "writeMemory: physical memory is read-only here (write through a virtual address)") }
        let session = session!
        let target = try session.requireStoppedTarget(for: "writeMemory")
        try target.writeMemory(at: address, bytes: [UInt8](data))
        session.invalidateCaches()
        return ["bytesWritten": data.count]
    }

    private func disassemble(_ args: [String: Any]) throws -> [String: Any] {
        let (base, physical) = try memoryAddress(args, "disassemble")
        if physical { throw BadRequest(message: "disassemble: virtual addresses only") }
        guard let count = try optionalInt(args, "instructionCount"), count >= 0, count <= 100_000 else {
            throw BadRequest(message: "disassemble: `instructionCount` must be an integer from 0 to 100000")
        }
        let skip = try optionalInt(args, "instructionOffset") ?? 0
        let start = skip >= 0 ? base &+ UInt64(skip) * 4 : base &- UInt64(-skip) * 4
        if count == 0 { return ["instructions": []] }
        var decoded: [String: [String: Any]] = [:]
        if let listing = try? object("x/\(count)i \(Hex.format(start))") {
            for instruction in listing["instructions"] as? [[String: Any]] ?? [] {
                if let address = instruction["address"] as? String { decoded[address] = instruction }
            }
        }
        var result: [[String: Any]] = []
        for i in 0..<count {
            let address = Hex.format(start &+ UInt64(i) * 4)
            guard let instruction = decoded[address] else {
                result.append(["address": address, "instruction": "??", "presentationHint": "invalid"])
                continue
            }
            let operands = instruction["operands"] as? String ?? ""
            var entry: [String: Any] = ["address": address,
                                        "instruction": (instruction["mnemonic"] as? String ?? "?") + (operands.isEmpty ? "" : " " + operands)]
            if let word = (instruction["bytes"] as? String).flatMap({ UInt32($0.dropFirst(2), radix: 16) }) {
                // The instruction word as its bytes in memory order (A64 is little-endian): `1f 20 03 d5`.
                entry["instructionBytes"] = (0..<4).map { String(format: "%02x", (word >> ($0 * 8)) & 0xFF) }.joined(separator: " ")
            }
            if let symbol = instruction["targetSymbol"] as? String { entry["symbol"] = symbol }
            result.append(entry)
        }
        return ["instructions": result]
    }

    private func loadedSources() throws -> [String: Any] {
        let session = try requireSession("loadedSources")
        guard session.symbols != nil, let info = try? session.debugInfo(for: "loadedSources"), let files = try? info.sourceFiles() else {
            return ["sources": []]
        }
        return ["sources": files.filter { !$0.hasSuffix(">") }.sorted().map(source)]
    }

    // MARK: argument checks

    private func optionalString(_ args: [String: Any], _ key: String) throws -> String? {
        guard let value = args[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw BadRequest(message: "`\(key)` must be a string") }
        return text
    }

    private func optionalInt(_ args: [String: Any], _ key: String) throws -> Int? {
        guard let value = args[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number),
              number.doubleValue == number.doubleValue.rounded() else {
            throw BadRequest(message: "`\(key)` must be an integer")
        }
        return number.intValue
    }

    private func optionalBool(_ args: [String: Any], _ key: String) throws -> Bool? {
        guard let value = args[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw BadRequest(message: "`\(key)` must be true or false")
        }
        return number.boolValue
    }

    /// JSONSerialization's `true`/`false` (a number whose type is `char`; JSON gives no other chars).
    static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    /// One word of the command language (paths may hold blanks).
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "#" || $0 == "\\" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
