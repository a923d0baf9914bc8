import CDwarf
import Foundation
import SymbolNames

/// A function or inlined-function scope that contains a PC.
public struct FunctionScope: Equatable, Sendable {
    /// What people read: Swift's `Module.function`, C's name.
    public var name: String
    /// What the DWARF says (the linkage name when there is one: gdb shows this).
    public var rawName: String
    /// True for a `DW_TAG_inlined_subroutine`.
    public var isInlined: Bool
    /// The scope's address ranges, `[start, end)`.
    public var ranges: [Range<UInt64>]
    /// For an inlined scope: where the caller called it (`DW_AT_call_file`/`call_line`).
    public var callSite: SourceLocation?

    /// The lowest address of the scope (its entry for a plain function).
    public var lowPC: UInt64? { ranges.map(\.lowerBound).min() }
}

/// One source-level frame at a PC: the innermost inlined function first, the
/// real (out-of-line) function last. Each has the line it is stopped at.
public struct SourceFrame: Equatable, Sendable {
    public var function: String
    public var rawFunction: String
    /// nil when the line table has no row for the PC (or the scope has no call site).
    public var location: SourceLocation?
    /// True when this function was inlined into the next frame's.
    public var isInlined: Bool
    /// The function's scope ranges.
    public var ranges: [Range<UInt64>]
}

extension DebugInfoFile {
    /// The function and inlined-function scopes containing `pc`, innermost first.
    public func scopes(at pc: UInt64) throws(DebugInfoError) -> [FunctionScope] {
        lock.lock(); defer { lock.unlock() }
        return try firstAnswer(at: pc) { unit throws(DebugInfoError) in
            let scopes = try scopes(in: unit, at: pc)
            return scopes.contains { !$0.isInlined } ? scopes : nil
        } ?? []
    }

    /// The function scopes of one unit at `pc` (lock held).
    ///
    /// `dwarf_getscopes` cannot be used: it prunes every DIE without an
    /// address range, and Swift nests its functions in a `DW_TAG_module` (and
    /// types) that has none, and its inlined subroutines in lexical blocks that
    /// may have none. So the unit's functions are indexed once by walking the
    /// tree, and the inlined subroutines under the function are walked the same way.
    private func scopes(in unit: Unit, at pc: UInt64) throws(DebugInfoError) -> [FunctionScope] {
        let functions = try functionIndex(of: unit)
        guard var function = functions.filter({ $0.range.contains(pc) })
                .min(by: { $0.range.count < $1.range.count })?.die else { return [] }
        // Innermost first: the inlined subroutines holding `pc`, then the function.
        let found = Array(inlinedChain(in: &function, at: pc).reversed()) + [function]
        var files: OpaquePointer?
        var fileCount = 0
        if dwarf_getsrcfiles(&unit.die, &files, &fileCount) != 0 { files = nil }
        var result: [FunctionScope] = []
        for var die in found {
            let tag = dwarf_tag(&die)
            guard tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine else { continue }
            let (name, raw) = Self.names(of: &die)
            var callSite: SourceLocation?
            if tag == DW_TAG_inlined_subroutine, let files {
                if let fileIndex = Self.unsigned(&die, DW_AT_call_file), fileIndex < UInt64(fileCount),
                   let line = Self.unsigned(&die, DW_AT_call_line),
                   let file = dwarf_filesrc(files, Int(fileIndex), nil, nil) {
                    let column = Self.unsigned(&die, DW_AT_call_column) ?? 0
                    callSite = SourceLocation(file: String(cString: file), line: Int(line), column: Int(column))
                }
            }
            result.append(FunctionScope(name: name, rawName: raw, isInlined: tag == DW_TAG_inlined_subroutine,
                                        ranges: Self.ranges(of: &die), callSite: callSite))
        }
        return result
    }

    /// Source frames at `pc`: inlined ones first, the enclosing function last.
    /// For a caller's frame pass its return address minus one (inside the call,
    /// not after it), as `bt` does.
    public func frames(at pc: UInt64) throws(DebugInfoError) -> [SourceFrame] {
        let scopes = try scopes(at: pc)
        guard !scopes.isEmpty else { throw .notFound("no function scope covers 0x\(String(pc, radix: 16))") }
        var location: SourceLocation? = try? self.location(at: pc)
        var frames: [SourceFrame] = []
        for scope in scopes {
            frames.append(SourceFrame(function: scope.name, rawFunction: scope.rawName, location: location,
                                      isInlined: scope.isInlined, ranges: scope.ranges))
            if !scope.isInlined { break }
            location = scope.callSite
        }
        return frames
    }

    /// The out-of-line function containing `pc` (nil when no scope covers it).
    public func function(containing pc: UInt64) throws(DebugInfoError) -> FunctionScope? {
        try scopes(at: pc).first { !$0.isInlined }
    }

    // MARK: DIE helpers (lock held)

    /// The inlined subroutines under `function` that hold `pc`, outermost first
    /// (lexical blocks are looked through, with or without ranges of their own).
    func inlinedChain(in function: inout Dwarf_Die, at pc: UInt64) -> [Dwarf_Die] {
        var chain: [Dwarf_Die] = []
        func walk(_ parent: inout Dwarf_Die, depth: Int) -> Bool {
            var child = Dwarf_Die()
            var status = dwarf_child(&parent, &child)
            while status == 0 {
                let tag = Int(dwarf_tag(&child))
                if tag == DW_TAG_inlined_subroutine, dwarf_haspc(&child, pc) == 1 {
                    chain.append(child)
                    if depth < 64 { _ = walk(&child, depth: depth + 1) }
                    return true
                }
                let rangeless = dwarf_hasattr(&child, UInt32(DW_AT_low_pc)) == 0 && dwarf_hasattr(&child, UInt32(DW_AT_ranges)) == 0
                if tag == DW_TAG_lexical_block, rangeless || dwarf_haspc(&child, pc) == 1, depth < 64 {
                    // A block with ranges that hold pc, or one without ranges: look inside.
                    if walk(&child, depth: depth + 1) { return true }
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
            return false
        }
        _ = walk(&function, depth: 0)
        return chain
    }

    /// Every out-of-line function of a unit with its ranges, by walking the
    /// DIE tree through modules, namespaces and types (not into functions).
    func functionIndex(of unit: Unit) throws(DebugInfoError) -> [(range: Range<UInt64>, die: Dwarf_Die)] {
        if let functions = unit.functions { return functions }
        var functions: [(range: Range<UInt64>, die: Dwarf_Die)] = []
        var failed = false
        func walk(_ parent: inout Dwarf_Die, depth: Int) {
            var child = Dwarf_Die()
            var status = dwarf_child(&parent, &child)
            if status < 0 { failed = true }
            while status == 0 {
                let tag = Int(dwarf_tag(&child))
                switch tag {
                case DW_TAG_subprogram:
                    for range in Self.ranges(of: &child) where range.lowerBound != 0 { functions.append((range, child)) }
                case DW_TAG_module, DW_TAG_namespace, DW_TAG_structure_type, DW_TAG_class_type, DW_TAG_union_type,
                     DW_TAG_enumeration_type, DW_TAG_lexical_block:
                    if depth < 32 { walk(&child, depth: depth + 1) }
                default: break
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                if status < 0 { failed = true }
                child = next
            }
        }
        walk(&unit.die, depth: 0)
        if functions.isEmpty && failed { throw .corrupt("unit \(unit.name): \(Self.lastError())") }
        unit.functions = functions
        return functions
    }

    /// An unsigned attribute (following abstract origins), or nil.
    static func unsigned(_ die: inout Dwarf_Die, _ name: Int) -> UInt64? {
        var attribute = Dwarf_Attribute()
        var value: Dwarf_Word = 0
        guard dwarf_attr_integrate(&die, UInt32(name), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0 else { return nil }
        return value
    }

    static func names(of die: inout Dwarf_Die) -> (readable: String, raw: String) {
        var attributeStorage = Dwarf_Attribute()
        var linkage: String?
        for name in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name] where linkage == nil {
            if dwarf_attr_integrate(&die, UInt32(name), &attributeStorage) != nil, let text = dwarf_formstring(&attributeStorage) {
                linkage = String(cString: text)
            }
        }
        let plain = dwarf_diename(&die).map { String(cString: $0) }
        let raw = linkage ?? plain ?? "??"
        if let linkage, let short = SwiftSymbolNames.shortName(linkage) ?? SwiftSymbolNames.closureName(linkage) {
            return (short, raw)
        }
        return (plain ?? raw, raw)
    }

    static func ranges(of die: inout Dwarf_Die) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var offset = 0
        var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        repeat {
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
            if offset > 0 && end > start { result.append(start..<end) }
        } while offset > 0
        return result
    }
}
