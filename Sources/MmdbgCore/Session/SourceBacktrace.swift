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
    /// Set on the first frame of an interrupted context: `exception: SVC from EL0`, `irq`.
    public var boundary: String? = nil
    /// The program whose symbols name the frame (an EL0 program); nil for the kernel.
    public var program: String? = nil
    /// The address its source and variables were looked up at (a return address minus one for callers).
    public var lookupPC: UInt64? = nil
}

/// An EL0 program's debug information and symbols.
struct UserSpaceInfo {
    var name: String
    var info: DebugInfoFile
    var symbols: SymbolTable?
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
    /// `maxDepth` bounds the machine frames, across every boundary.
    ///
    /// Unwinding crosses the kernel's exception boundary: a frame where the
    /// exception entry resumes (`KernelViews.exceptionReturnAddress`) sits on
    /// the saved trap frame, and the frames after it are the interrupted
    /// context's: the kernel's for an exception taken at EL1, the user
    /// program's (named from its own ELF, which the kernel embeds) for EL0.
    /// The first frame after a boundary carries its marker.
    public func backtrace(for command: String, maxDepth: Int = 64) throws(CommandError) -> SourceBacktrace {
        if let backtraceCache, maxDepth == 64 { return backtraceCache }
        let kernelInfo = try debugInfo(for: command)
        var registers = try frameRegisters(for: command)
        // The unwinder asks for 8-byte words; a frame's saved registers sit together
        // near its CFA, so read 128-byte aligned blocks: about one target read per frame.
        var blocks: [UInt64: [UInt8]] = [:]   // empty: that block could not be read whole
        let read: MemoryReader = { [unowned self] address, count in
            let base = address & ~UInt64(127)
            if blocks[base] == nil { blocks[base] = (try? self.readVirtualMemory(at: base, count: 128)) ?? [] }
            let block = blocks[base]!
            let offset = Int(address - base)
            if offset + count <= block.count { return Array(block[offset..<offset + count]) }
            // Across a block boundary, or a block that could not be read whole: exactly what was asked.
            return try self.readVirtualMemory(at: address, count: count)
        }
        let views = symbols == nil ? nil : kernelViews
        let exceptionReturn = views?.exceptionReturnAddress()
        var frames: [BacktraceFrame] = []
        var notes: [String] = kernelInfo.missingDebugInfo.map { ["no DWARF (\($0)): frames from symbols and call-frame tables"] } ?? []
        var machineCount = 0
        var boundary: String?
        var followsTrap = false
        // A stop in EL0 code starts in the user program.
        var space = registers.pc.map { Self.isUserAddress($0) } == true ? userSpace(views, notes: &notes) : nil
        var end: String
        while true {
            let info = space?.info ?? kernelInfo
            let machine = info.backtrace(from: registers, maxDepth: maxDepth - machineCount, innermostFollowsCall: followsTrap,
                                         read: read, boundary: { frame in space == nil && frame.pc == exceptionReturn })
            for (index, frame) in machine.frames.enumerated() {
                // A return address is after the call: look up the call itself (and after an svc, the svc).
                let exact = index == 0 && !followsTrap
                let lookup = exact ? frame.pc : frame.pc &- 1
                let named = sourceFrames(info: info, symbols: space?.symbols ?? symbols, lookup: lookup)
                for (position, source) in named.enumerated() {
                    frames.append(BacktraceFrame(index: frames.count, pc: frame.pc, cfa: frame.cfa, function: source.function,
                                                 rawFunction: source.rawFunction, location: source.location,
                                                 isInlined: source.isInlined, method: frame.method,
                                                 registers: frame.registers, machineIndex: machineCount + index,
                                                 boundary: index == 0 && position == 0 ? boundary : nil,
                                                 program: space?.name, lookupPC: lookup))
                }
            }
            machineCount += machine.frames.count
            end = machine.end
            guard machine.endedAtBoundary, let views, let trapFrame = machine.frames.last?.registers.sp else { break }
            guard machineCount < maxDepth else { end = "depth limit (\(maxDepth) frames)"; break }
            let context: InterruptedContext
            do throws(CommandError) { context = try views.interruptedContext(trapFrameAt: trapFrame) } catch {
                end = "cannot read the trap frame at \(Hex.format(trapFrame)): \(error)"
                break
            }
            boundary = context.kind == "irq" ? "irq" : "exception: \(context.summary)"
            followsTrap = context.pcFollowsTrap
            registers = RegisterSet(context.registers)
            space = context.fromLevel == 0 ? userSpace(views, notes: &notes) : nil
            if context.fromLevel == 0 && space == nil {
                // No program image to name EL0 code with: show the interrupted PC alone.
                frames.append(BacktraceFrame(index: frames.count, pc: context.registers[32] ?? 0, cfa: nil, function: nil,
                                             rawFunction: nil, location: nil, isInlined: false, method: .registers,
                                             registers: registers, machineIndex: machineCount, boundary: boundary, program: "EL0"))
                end = "no program image for the EL0 code"
                break
            }
        }
        let trace = SourceBacktrace(frames: frames, end: end, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
        if maxDepth == 64 { backtraceCache = trace }
        return trace
    }

    /// The function, location and inlining of `lookup`: DWARF's frames, else the symbol (and line, if any).
    private func sourceFrames(info: DebugInfoFile, symbols: SymbolTable?, lookup: UInt64)
        -> [(function: String?, rawFunction: String?, location: SourceLocation?, isInlined: Bool)] {
        let sourceFrames = info.hasDebugInfo ? (try? info.frames(at: lookup)) ?? [] : []
        if sourceFrames.isEmpty {
            // No function scope (assembly): the ELF symbol, and the line table's line if it has one.
            let symbol = symbols?.symbolicate(lookup)
            let location = info.hasDebugInfo ? try? info.location(at: lookup) : nil
            return [(symbol?.name, symbol?.name, location, false)]
        }
        return sourceFrames.map { ($0.function, $0.rawFunction, $0.location, $0.isInlined) }
    }

    /// Lower-half (TTBR0) addresses are EL0 code.
    static func isUserAddress(_ address: UInt64) -> Bool { address >> 55 & 1 == 0 && address != 0 }

    /// The current task's program: its DWARF and symbols, opened once per image.
    private func userSpace(_ views: KernelViews?, notes: inout [String]) -> UserSpaceInfo? {
        guard let program = views?.userProgram() else { return nil }
        if let cached = userPrograms[program.name] { return cached }
        do throws(DebugInfoError) {
            let info = try DebugInfoFile(image: program.image, name: "\(program.name) (embedded)")
            let elf = try? ELFSymbolTable(bytes: program.image, source: program.name)
            let space = UserSpaceInfo(name: program.name, info: info, symbols: elf)
            userPrograms[program.name] = space
            return space
        } catch {
            notes.append("the embedded program \(program.name) cannot be read: \(error)")
            return nil
        }
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
