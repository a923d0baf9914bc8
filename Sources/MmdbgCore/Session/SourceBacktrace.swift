import DebugInfo
import Foundation

/// One frame of `bt`: a machine frame, or one of the inlined functions at its PC.
public struct BacktraceFrame: Sendable {
    /// Position in the backtrace (inlined frames count, as in gdb).
    public var index: Int
    public var pc: UInt64
    /// The canonical frame address (the caller's SP at the call), when known.
    public var cfa: UInt64?
    /// `Module.function` or the C name; nil when neither DWARF nor a symbol covers the PC.
    public var function: String?
    /// The name as the DWARF or ELF spells it (mangled for Swift: what gdb shows).
    public var rawFunction: String?
    public var location: SourceLocation?
    public var isInlined: Bool
    /// How this frame was found from its callee.
    public var method: UnwindMethod
    /// The registers recovered for this frame (the innermost: the target's).
    public var registers: RegisterSet
    /// Index of its machine frame (inlined frames share one).
    public var machineIndex: Int
}

/// A backtrace at one stop, and why it ended.
public struct SourceBacktrace: Sendable {
    public var frames: [BacktraceFrame]
    /// Why unwinding stopped (`outermost frame`, a read failure, the depth bound).
    public var end: String
    /// One line when the ELF has no DWARF (frames then come from symbols and frame pointers).
    public var note: String?
}

extension Session {
    /// The DWARF of the loaded symbols' ELF, opened once through `services.loadDebugInfo`.
    /// A missing ELF is an error; an ELF without DWARF is returned (its
    /// `.eh_frame` and text still serve `bt` and `disas`) with `missingDebugInfo` set.
    public func debugInfo(for command: String) throws(CommandError) -> DebugInfoFile {
        guard let symbols else { throw .unavailable("\(command): no ELF loaded (use --elf FILE)") }
        if debugInfoLoad?.source != symbols.source {
            let path = symbols.source
            let result: Result<DebugInfoFile, DebugInfoError>
            do throws(DebugInfoError) { result = .success(try services.loadDebugInfo(path)) } catch { result = .failure(error) }
            debugInfoLoad = (path, result)
        }
        switch debugInfoLoad!.result {
        case .success(let info): return info
        case .failure(let error): throw .failed("\(command): \(error)")
        }
    }

    /// Core registers of the stopped target by DWARF number (x0…x30, sp, pc), one read.
    func frameRegisters(for command: String) throws(CommandError) -> RegisterSet {
        let target = try requireStoppedTarget(for: command)
        let names = (0...30).map { "x\($0)" } + ["sp", "pc"]
        let values = try target.readRegisters(names)
        var set = RegisterSet([:])
        for (number, value) in values.enumerated() { set[number] = value }
        return set
    }

    /// The backtrace of the current stop (cached until the target resumes).
    /// `maxDepth` bounds the machine frames.
    public func backtrace(for command: String, maxDepth: Int = 64) throws(CommandError) -> SourceBacktrace {
        if let backtraceCache, maxDepth == 64 { return backtraceCache }
        let info = try debugInfo(for: command)
        let registers = try frameRegisters(for: command)
        // The unwinder asks for 8-byte words; a frame's saved registers sit together
        // near its CFA, so read 128-byte aligned blocks: about one target read per frame.
        var blocks: [UInt64: [UInt8]] = [:]   // empty: that block could not be read whole
        let machine = info.backtrace(from: registers, maxDepth: maxDepth) { [unowned self] address, count in
            let base = address & ~UInt64(127)
            if blocks[base] == nil { blocks[base] = (try? self.readVirtualMemory(at: base, count: 128)) ?? [] }
            let block = blocks[base]!
            let offset = Int(address - base)
            if offset + count <= block.count { return Array(block[offset..<offset + count]) }
            // Across a block boundary, or a block that could not be read whole: exactly what was asked.
            return try self.readVirtualMemory(at: address, count: count)
        }
        var frames: [BacktraceFrame] = []
        for (machineIndex, frame) in machine.frames.enumerated() {
            // A return address is after the call: look up the call itself.
            let lookup = machineIndex == 0 ? frame.pc : frame.pc &- 1
            let sourceFrames = info.hasDebugInfo ? (try? info.frames(at: lookup)) ?? [] : []
            if sourceFrames.isEmpty {
                let symbol = symbols?.symbolicate(lookup)
                // No function scope (assembly): the ELF symbol, and the line table's line if it has one.
                let location = info.hasDebugInfo ? try? info.location(at: lookup) : nil
                frames.append(BacktraceFrame(index: frames.count, pc: frame.pc, cfa: frame.cfa, function: symbol?.name,
                                             rawFunction: symbol?.name, location: location, isInlined: false,
                                             method: frame.method, registers: frame.registers, machineIndex: machineIndex))
                continue
            }
            for source in sourceFrames {
                frames.append(BacktraceFrame(index: frames.count, pc: frame.pc, cfa: frame.cfa, function: source.function,
                                             rawFunction: source.rawFunction, location: source.location,
                                             isInlined: source.isInlined, method: frame.method,
                                             registers: frame.registers, machineIndex: machineIndex))
            }
        }
        let trace = SourceBacktrace(frames: frames, end: machine.end,
                                    note: info.missingDebugInfo.map { "no DWARF (\($0)): frames from symbols and call-frame tables" })
        if maxDepth == 64 { backtraceCache = trace }
        return trace
    }

    /// The selected frame of the current stop.
    public func selectedBacktraceFrame(for command: String) throws(CommandError) -> BacktraceFrame {
        let trace = try backtrace(for: command)
        guard !trace.frames.isEmpty else { throw .failed("\(command): no frames") }
        return trace.frames[min(selectedFrame, trace.frames.count - 1)]
    }

    /// Selects frame `index` of the current backtrace.
    public func selectFrame(_ index: Int, for command: String) throws(CommandError) -> BacktraceFrame {
        let trace = try backtrace(for: command)
        guard trace.frames.indices.contains(index) else {
            throw .failed("\(command): no frame \(index) (frames 0…\(trace.frames.count - 1))")
        }
        selectedFrame = index
        return trace.frames[index]
    }
}

/// Where a PC is in the source: `function (file:line)` and the line's text.
public struct StopSource: Sendable {
    public var function: String
    public var location: SourceLocation
    public var lineText: String?

    /// `map_page (Sources/KernelCore/MM/UserPageTables.swift:137)`, then `137\t<the line>`.
    public var text: String {
        "\(function) (\(SourcePaths.display(location)))" + (lineText.map { "\n\(location.line)\t\($0)" } ?? "")
    }

    public var json: JSONValue {
        .object([("function", .string(function)), ("file", .string(location.file)), ("line", .int(Int64(location.line))),
                 ("column", .int(Int64(location.column)))])
    }
}

extension Session {
    /// The innermost source frame at `pc`, or nil (no ELF, no DWARF, no line): never an error,
    /// so every stop can show it when it is known.
    /// `hidingInlined`: that many innermost inlined frames are not shown (a step stopped at the first
    /// instruction of an inlined call: gdb shows the caller, at the call site, until the next `step`).
    public func sourceLine(at pc: UInt64, hidingInlined hidden: Int = 0) -> StopSource? {
        guard symbols != nil, let info = try? debugInfo(for: "source"), info.hasDebugInfo,
              let frames = try? info.frames(at: pc), !frames.isEmpty else { return nil }
        let frame = frames[min(hidden, frames.count - 1)]
        guard let location = frame.location, location.line > 0 else { return nil }
        let text = SourcePaths.lines(of: location.file).flatMap { $0.indices.contains(location.line - 1) ? $0[location.line - 1] : nil }
        return StopSource(function: frame.function, location: location, lineText: text)
    }
}

/// Source paths as people read them: relative to the working directory when under it.
enum SourcePaths {
    static func display(_ path: String) -> String {
        // libdw joins the unit's directory with Swift's pseudo-file for generated code.
        if path.hasSuffix("<compiler-generated>") { return "<compiler-generated>" }
        let cwd = FileManager.default.currentDirectoryPath
        if path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
        return path
    }

    /// `file:line`, with the file shortened.
    static func display(_ location: SourceLocation) -> String { "\(display(location.file)):\(location.line)" }

    /// The lines of a source file, or nil when it cannot be read. A path
    /// recorded on another machine is retried under the working directory from
    /// its `Sources/` component on.
    static func lines(of path: String) -> [String]? {
        var candidates = [path]
        if let range = path.range(of: "/Sources/") {
            candidates.append(FileManager.default.currentDirectoryPath + "/" + path[path.index(after: range.lowerBound)...])
        }
        for candidate in candidates {
            if let text = try? String(contentsOfFile: candidate, encoding: .utf8) {
                var lines = text.components(separatedBy: "\n")
                if lines.last == "" { lines.removeLast() }
                return lines
            }
        }
        return nil
    }
}
