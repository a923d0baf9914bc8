import Foundation
import MmdbgCore
import TestSupport

/// A Debug Adapter Protocol client for tests: runs the real `mmdbg dap`,
/// frames requests with MmdbgCore's codec, and keeps the whole exchange as a
/// transcript. Every message the adapter sends is checked against the
/// protocol's required fields and types (`DAPSpec`); problems are collected in
/// `violations`. Every wait has a deadline; `stop()` kills the adapter (its
/// QEMU dies with it through QEMULauncher's watchdog).
final class DAPClient: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let condition = NSCondition()
    private var decoder = DAPFrameDecoder()
    private var received: [[String: Any]] = []
    private var consumed = 0
    private var ended = false
    private var nextSeq = 1
    private var stderrText = ""
    /// Every message both ways, as `-> {json}` / `<- {json}` lines.
    private(set) var transcript: [String] = []
    /// Messages from the adapter that break the protocol's schema.
    private(set) var violations: [String] = []
    /// The requests sent, by seq (the checks need the command a response answers).
    private var sentCommands: [Int: String] = [:]

    /// The TCP connection in `--port` mode (nil: stdio).
    private var socketHandle: FileHandle?

    /// `mmdbg dap --port 0`: waits for the port it prints on stderr and connects to it.
    static func overTCP() throws -> DAPClient {
        let client = try DAPClient(arguments: ["dap", "--port", "0"])
        let deadline = Date().addingTimeInterval(20)
        var port: Int?
        while port == nil && Date() < deadline {
            if let range = client.stderr.range(of: "listening on 127.0.0.1:") {
                port = Int(client.stderr[range.upperBound...].prefix { $0.isNumber })
            } else { usleep(10_000) }
        }
        guard let port else { client.stop(); throw Failure(description: "mmdbg dap --port 0 printed no port: \(client.stderr)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = DAPTransport.withLoopbackAddress(port: port) { connect(fd, $0, $1) }
        guard fd >= 0, connected == 0 else { client.stop(); throw Failure(description: "cannot connect to 127.0.0.1:\(port)") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        client.socketHandle = handle
        handle.readabilityHandler = { [weak client] handle in client?.take([UInt8](handle.availableData)) }
        return client
    }

    init(arguments: [String] = ["dap"]) throws {
        process.executableURL = URL(fileURLWithPath: try MmdbgBinary.path())
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        process.environment = environment
        stdoutPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, self.socketHandle == nil || !data.isEmpty else { return }
            self.take([UInt8](data))
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            condition.lock(); stderrText += String(decoding: data, as: UTF8.self); condition.unlock()
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stderr: String { condition.lock(); defer { condition.unlock() }; return stderrText }

    private func take(_ bytes: [UInt8]) {
        condition.lock()
        defer { condition.broadcast(); condition.unlock() }
        if bytes.isEmpty { ended = true; return }
        decoder.append(bytes)
        do {
            while let body = try decoder.next() {
                transcript.append("<- " + String(decoding: body, as: UTF8.self))
                guard let message = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                    violations.append("not a JSON object: \(String(decoding: body.prefix(200), as: UTF8.self))")
                    continue
                }
                let command = (message["request_seq"] as? Int).flatMap { sentCommands[$0] }
                violations += DAPSpec.problems(message, answering: command)
                received.append(message)
            }
        } catch {
            violations.append("bad framing from the adapter: \(error)")
            ended = true
        }
    }

    // MARK: sending

    /// Sends a request; returns its seq.
    @discardableResult
    func send(_ command: String, _ arguments: [String: Any]? = nil) throws -> Int {
        condition.lock()
        let seq = nextSeq
        nextSeq += 1
        sentCommands[seq] = command
        condition.unlock()
        var message: [String: Any] = ["seq": seq, "type": "request", "command": command]
        if let arguments { message["arguments"] = arguments }
        let body = try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
        condition.lock(); transcript.append("-> " + String(decoding: body, as: UTF8.self)); condition.unlock()
        try sendRaw(DAPFrameDecoder.frame([UInt8](body)))
        return seq
    }

    /// Writes bytes as they are (malformed input tests).
    func sendRaw(_ bytes: [UInt8]) throws {
        try (socketHandle ?? stdinPipe.fileHandleForWriting).write(contentsOf: Data(bytes))
    }

    func closeInput() {
        if let socketHandle { socketHandle.readabilityHandler = nil; try? socketHandle.close() } else { try? stdinPipe.fileHandleForWriting.close() }
    }

    // MARK: waiting

    /// Waits for the first not yet consumed message satisfying `match`.
    func wait(for what: String, timeout: Double, _ match: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let index = received.indices.first(where: { $0 >= 0 && match(received[$0]) && !consumedIndices.contains($0) }) {
                consumedIndices.insert(index)
                return received[index]
            }
            if ended { throw Failure(description: "the adapter closed its output while waiting for \(what); stderr: \(stderrText.suffix(400))") }
            if !condition.wait(until: deadline) {
                throw Failure(description: "no \(what) within \(timeout) s; last messages: \(transcript.suffix(4).joined(separator: " | ").prefix(1200))")
            }
        }
    }
    private var consumedIndices = Set<Int>()

    /// Sends a request and waits for its response (success or not).
    func request(_ command: String, _ arguments: [String: Any]? = nil, timeout: Double = 30) throws -> [String: Any] {
        let seq = try send(command, arguments)
        return try wait(for: "response to \(command)", timeout: timeout) { $0["type"] as? String == "response" && $0["request_seq"] as? Int == seq }
    }

    /// A request that must succeed; its body.
    func body(_ command: String, _ arguments: [String: Any]? = nil, timeout: Double = 30) throws -> [String: Any] {
        let response = try request(command, arguments, timeout: timeout)
        guard response["success"] as? Bool == true else {
            throw Failure(description: "\(command) failed: \(response["message"] ?? "?")")
        }
        return response["body"] as? [String: Any] ?? [:]
    }

    func event(_ name: String, timeout: Double = 30) throws -> [String: Any] {
        let event = try wait(for: "event \(name)", timeout: timeout) { $0["type"] as? String == "event" && $0["event"] as? String == name }
        return event["body"] as? [String: Any] ?? [:]
    }

    /// How many `name` events arrived so far.
    func count(event name: String) -> Int {
        condition.lock(); defer { condition.unlock() }
        return received.filter { $0["type"] as? String == "event" && $0["event"] as? String == name }.count
    }

    /// Every `output` event's text so far in `category`.
    func output(category: String) -> String {
        condition.lock(); defer { condition.unlock() }
        return received.filter { $0["event"] as? String == "output" }
            .compactMap { $0["body"] as? [String: Any] }
            .filter { $0["category"] as? String == category }
            .compactMap { $0["output"] as? String }.joined()
    }

    /// Waits for the adapter to exit; its status, or nil after `timeout`.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Kills the adapter if it still runs.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        stdoutPipe.fileHandleForReading.readabilityHandler = nil
        socketHandle?.readabilityHandler = nil
        stderrPipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// The protocol's required fields and their types, for each message kind the
/// tests exchange, written from the published JSON schema
/// (debugAdapterProtocol.json: ProtocolMessage, Response, ErrorResponse, Event,
/// the `…Response`/`…Event` definitions and the types they name).
enum DAPSpec {
    enum Kind { case integer, string, boolean, object, array, stringOrNull }

    static func problems(_ message: [String: Any], answering command: String?) -> [String] {
        var out: [String] = []
        let label: String
        func need(_ object: [String: Any], _ key: String, _ kind: Kind, _ path: String) {
            guard let value = object[key] else { out.append("\(path).\(key) is missing"); return }
            if !has(value, kind) { out.append("\(path).\(key) is not \(kind): \(value)") }
        }
        func optional(_ object: [String: Any], _ key: String, _ kind: Kind, _ path: String) {
            if let value = object[key], !has(value, kind) { out.append("\(path).\(key) is not \(kind): \(value)") }
        }
        // ProtocolMessage
        need(message, "seq", .integer, "message")
        need(message, "type", .string, "message")
        switch message["type"] as? String {
        case "response":
            label = "response to \(command ?? "?")"
            need(message, "request_seq", .integer, label)
            need(message, "success", .boolean, label)
            need(message, "command", .string, label)
            optional(message, "message", .string, label)
            if let command, message["command"] as? String != command { out.append("\(label): command is \(message["command"] ?? "nil")") }
            if message["success"] as? Bool == false {
                // ErrorResponse: body required; body.error a Message {id, format}.
                need(message, "body", .object, label)
                if let error = (message["body"] as? [String: Any])?["error"] as? [String: Any] {
                    need(error, "id", .integer, label + ".body.error")
                    need(error, "format", .string, label + ".body.error")
                }
            } else if let command {
                responseBody(command, message["body"], label, &out)
            }
        case "event":
            label = "event \(message["event"] ?? "?")"
            need(message, "event", .string, label)
            eventBody(message["event"] as? String ?? "", message["body"], label, &out)
        default:
            out.append("message.type is \(message["type"] ?? "nil"), not response or event")
        }
        return out
    }

    static func has(_ value: Any, _ kind: Kind) -> Bool {
        let number = value as? NSNumber
        let isBool = number.map { String(cString: $0.objCType) == "c" } ?? false
        switch kind {
        case .integer: return number != nil && !isBool && number!.doubleValue == number!.doubleValue.rounded()
        case .string: return value is String
        case .boolean: return isBool
        case .object: return value is [String: Any]
        case .array: return value is [Any]
        case .stringOrNull: return value is String || value is NSNull
        }
    }

    /// Checks `body` against the named response's schema.
    static func responseBody(_ command: String, _ body: Any?, _ label: String, _ problems: inout [String]) {
        var out: [String] = []
        defer { problems += out }
        let object = body as? [String: Any]
        func requireBody() -> [String: Any]? {
            guard let object else { out.append("\(label): body is missing"); return nil }
            return object
        }
        func array(_ key: String, _ element: (([String: Any], String) -> Void)?) {
            guard let object = requireBody() else { return }
            guard let items = object[key] as? [Any] else { out.append("\(label).body.\(key) is missing or not an array"); return }
            for (i, item) in items.enumerated() {
                guard let entry = item as? [String: Any] else { out.append("\(label).body.\(key)[\(i)] is not an object"); continue }
                element?(entry, "\(label).body.\(key)[\(i)]")
            }
        }
        func fields(_ object: [String: Any], _ path: String, required: [(String, Kind)], optional: [(String, Kind)] = []) {
            for (key, kind) in required {
                guard let value = object[key] else { out.append("\(path).\(key) is missing"); continue }
                if !has(value, kind) { out.append("\(path).\(key) is not \(kind)") }
            }
            for (key, kind) in optional { if let value = object[key], !has(value, kind) { out.append("\(path).\(key) is not \(kind)") } }
        }
        func source(_ value: Any?, _ path: String) {
            guard let value else { return }
            guard let object = value as? [String: Any] else { out.append("\(path) is not an object"); return }
            fields(object, path, required: [], optional: [("name", .string), ("path", .string), ("sourceReference", .integer), ("presentationHint", .string)])
            if let hint = object["presentationHint"] as? String, !["normal", "emphasize", "deemphasize"].contains(hint) { out.append("\(path).presentationHint \(hint)") }
        }
        let breakpoint: ([String: Any], String) -> Void = { entry, path in
            fields(entry, path, required: [("verified", .boolean)],
                   optional: [("id", .integer), ("message", .string), ("line", .integer), ("column", .integer), ("instructionReference", .string), ("offset", .integer)])
            source(entry["source"], path + ".source")
        }
        switch command {
        case "initialize":
            if let object {
                for (key, value) in object where key.hasPrefix("supports") || key == "supportTerminateDebuggee" {
                    if !has(value, .boolean) { out.append("\(label).body.\(key) is not boolean") }
                }
                if let filters = object["exceptionBreakpointFilters"], !has(filters, .array) { out.append("\(label).body.exceptionBreakpointFilters is not an array") }
            }
        case "setBreakpoints", "setFunctionBreakpoints", "setInstructionBreakpoints", "setDataBreakpoints":
            array("breakpoints", breakpoint)
        case "stackTrace":
            array("stackFrames") { frame, path in
                fields(frame, path, required: [("id", .integer), ("name", .string), ("line", .integer), ("column", .integer)],
                       optional: [("instructionPointerReference", .string), ("presentationHint", .string), ("endLine", .integer)])
                source(frame["source"], path + ".source")
                if let hint = frame["presentationHint"] as? String, !["normal", "label", "subtle"].contains(hint) { out.append("\(path).presentationHint \(hint)") }
            }
            if let object { fields(object, label + ".body", required: [], optional: [("totalFrames", .integer)]) }
        case "scopes":
            array("scopes") { scope, path in
                fields(scope, path, required: [("name", .string), ("variablesReference", .integer), ("expensive", .boolean)],
                       optional: [("presentationHint", .string), ("namedVariables", .integer), ("indexedVariables", .integer)])
            }
        case "variables":
            array("variables") { variable, path in
                fields(variable, path, required: [("name", .string), ("value", .string), ("variablesReference", .integer)],
                       optional: [("type", .string), ("evaluateName", .string), ("namedVariables", .integer), ("indexedVariables", .integer),
                                  ("memoryReference", .string), ("presentationHint", .object)])
            }
        case "threads":
            array("threads") { thread, path in fields(thread, path, required: [("id", .integer), ("name", .string)]) }
        case "evaluate":
            if let object = requireBody() {
                fields(object, label + ".body", required: [("result", .string), ("variablesReference", .integer)],
                       optional: [("type", .string), ("memoryReference", .string), ("namedVariables", .integer), ("indexedVariables", .integer)])
            }
        case "setVariable":
            if let object = requireBody() {
                fields(object, label + ".body", required: [("value", .string)], optional: [("type", .string), ("variablesReference", .integer)])
            }
        case "readMemory":
            if let object { fields(object, label + ".body", required: [("address", .string)], optional: [("unreadableBytes", .integer), ("data", .string)]) }
        case "writeMemory":
            if let object { fields(object, label + ".body", required: [], optional: [("offset", .integer), ("bytesWritten", .integer)]) }
        case "disassemble":
            if object != nil {
                array("instructions") { instruction, path in
                    fields(instruction, path, required: [("address", .string), ("instruction", .string)],
                           optional: [("instructionBytes", .string), ("symbol", .string), ("line", .integer), ("presentationHint", .string)])
                }
            }
        case "loadedSources":
            array("sources") { entry, path in source(entry, path) }
        case "dataBreakpointInfo":
            if let object = requireBody() {
                fields(object, label + ".body", required: [("dataId", .stringOrNull), ("description", .string)], optional: [("accessTypes", .array)])
            }
        case "continue":
            if let object = requireBody() { fields(object, label + ".body", required: [], optional: [("allThreadsContinued", .boolean)]) }
        default:
            break  // launch, attach, configurationDone, next, stepIn, stepOut, pause, disconnect, terminate: no body fields
        }
    }

    static func eventBody(_ event: String, _ body: Any?, _ label: String, _ problems: inout [String]) {
        var out: [String] = []
        defer { problems += out }
        let object = body as? [String: Any]
        func required(_ fields: [(String, Kind)], optional: [(String, Kind)] = []) {
            guard let object else { out.append("\(label): body is missing"); return }
            for (key, kind) in fields {
                guard let value = object[key] else { out.append("\(label).body.\(key) is missing"); continue }
                if !has(value, kind) { out.append("\(label).body.\(key) is not \(kind)") }
            }
            for (key, kind) in optional { if let value = object[key], !has(value, kind) { out.append("\(label).body.\(key) is not \(kind)") } }
        }
        switch event {
        case "stopped":
            required([("reason", .string)], optional: [("description", .string), ("threadId", .integer), ("allThreadsStopped", .boolean),
                                                       ("hitBreakpointIds", .array), ("text", .string), ("preserveFocusHint", .boolean)])
            let reasons = ["step", "breakpoint", "exception", "pause", "entry", "goto", "function breakpoint", "data breakpoint", "instruction breakpoint"]
            if let reason = object?["reason"] as? String, !reasons.contains(reason) { out.append("\(label): reason \(reason) is not one the spec names") }
            if let ids = object?["hitBreakpointIds"] as? [Any], !ids.allSatisfy({ has($0, .integer) }) { out.append("\(label).hitBreakpointIds are not integers") }
        case "continued": required([("threadId", .integer)], optional: [("allThreadsContinued", .boolean)])
        case "output":
            required([("output", .string)], optional: [("category", .string), ("variablesReference", .integer), ("line", .integer)])
        case "exited": required([("exitCode", .integer)])
        case "terminated", "initialized": break
        case "capabilities": required([("capabilities", .object)])
        default: out.append("\(label): an event this client does not expect")
        }
    }
}
