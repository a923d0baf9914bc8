import DebugInfo

/// A parameter or local of a frame with its typed value: what `info locals`, `info args`, expressions
/// (`print t`) and the DAP adapter's scopes show.
///
///     for variable in try session.frameVariables(for: "locals") where !variable.isParameter {
///         print(variable.name, try ValueFormatter(evaluator: TypedEvaluator(context: session.typedData)).text(variable.value))
///     }
public struct FrameVariableValue {
    public var name: String
    public var isParameter: Bool
    /// In memory (`address`), a register's or computed bytes, or `unavailable` (`optimized out`).
    public var value: TypedValue
    /// Where the DWARF location put it in this frame.
    public var location: VariableLocation
}

/// Frame variables of this stop by frame index; dropped when the target resumes.
final class FrameVariableCache: SessionCache {
    var byFrame: [Int: [FrameVariableValue]] = [:]
    /// The innermost frame's variable names at a PC (no backtrace, no target reads).
    var innermostNames: (pc: UInt64, names: Set<String>)?
    func invalidate() { byFrame = [:]; innermostNames = nil }
}

extension Session {
    /// The typed-data context of this session (memory through the device guard, registers, DWARF, locals).
    public var typedData: TypedDataContext { SessionTypedData(session: self) }

    /// False when the innermost frame (selected, in the kernel) has no variable called `name`: found from
    /// the DWARF at the PC alone, so a `print` of a global costs no backtrace. True when it may have one.
    func frameMayHaveVariable(_ name: String) -> Bool {
        guard selectedFrame == 0, let pc = try? registerValue("pc"), !Self.isUserAddress(pc),
              let info = try? debugInfo(for: "print"), info.hasDebugInfo else { return true }
        let cache = extensions["frameVariables"] as? FrameVariableCache ?? FrameVariableCache()
        extensions["frameVariables"] = cache
        if let known = cache.innermostNames, known.pc == pc { return known.names.contains(name) }
        struct NoMemory: Error {}
        let state = FrameState(registers: RegisterSet([:]), cfa: nil, read: { _, _ in throw NoMemory() })
        guard let found = try? info.frameVariables(at: pc, inlineDepth: 0, frame: state) else { return true }
        let names = Set(found.map(\.name))
        cache.innermostNames = (pc, names)
        return names.contains(name)
    }

    /// Parameters and locals of frame `index` of the backtrace (nil: the selected frame), in DWARF order,
    /// their locations evaluated in that frame (registers the unwinder recovered, its CFA as frame base).
    /// Cached until the target resumes.
    public func frameVariables(frame index: Int? = nil, for command: String) throws(CommandError) -> [FrameVariableValue] {
        let trace = try backtrace(for: command)
        guard !trace.frames.isEmpty else { throw .failed("\(command): no frames") }
        let frame = trace.frames[min(index ?? selectedFrame, trace.frames.count - 1)]
        let cache = extensions["frameVariables"] as? FrameVariableCache ?? FrameVariableCache()
        extensions["frameVariables"] = cache
        if let known = cache.byFrame[frame.index] { return known }
        let info: DebugInfoFile
        if let program = frame.program {
            guard let space = userPrograms[program] else { throw .unavailable("\(command): no DWARF for the EL0 program \(program)") }
            info = space.info
        } else {
            info = try debugInfo(for: command)
        }
        guard info.hasDebugInfo else { throw .unavailable("\(command): the ELF has no DWARF (build it with -g)") }
        let inlineDepth = frame.index - (trace.frames.first { $0.machineIndex == frame.machineIndex }?.index ?? frame.index)
        let caller = trace.frames.first { $0.machineIndex == frame.machineIndex + 1 && $0.boundary == nil }
        let state = FrameState(registers: frame.registers, cfa: frame.cfa,
                               read: { [unowned self] address, count in try self.readVirtualMemory(at: address, count: count) },
                               caller: caller.map { ($0.registers, $0.cfa) })
        let found: [FrameVariable]
        do throws(DebugInfoError) {
            found = try info.frameVariables(at: frame.lookupPC ?? frame.pc, inlineDepth: inlineDepth, frame: state)
        } catch {
            throw .failed("\(command): frame \(frame.index): \(error)")
        }
        let values = found.map { variable -> FrameVariableValue in
            var value: TypedValue
            let size = Int(min(variable.type.resolved.size, TypedEvaluator.maximumValueSize))
            func fitted(_ bytes: [UInt8]) -> [UInt8] { Array((bytes + [UInt8](repeating: 0, count: max(0, size - bytes.count))).prefix(size)) }
            switch variable.location {
            case .memory(let address): value = TypedValue(type: variable.type, address: address)
            case .register(let number, let contents):
                value = TypedValue(type: variable.type, bytes: fitted((0..<8).map { UInt8(truncatingIfNeeded: contents >> (8 * UInt64($0))) }))
                if frame.machineIndex == 0 { value.register = number }
            case .value(let bytes): value = TypedValue(type: variable.type, bytes: fitted(bytes))
            case .unavailable(let reason):
                value = TypedValue(type: variable.type, bytes: [])
                value.unavailable = reason
            }
            return FrameVariableValue(name: variable.name, isParameter: variable.isParameter, value: value, location: variable.location)
        }
        cache.byFrame[frame.index] = values
        return values
    }
}
