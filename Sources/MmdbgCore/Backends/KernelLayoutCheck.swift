import DebugInfo
import Inspect

/// The layout check on attach: every structure and member the kernel views decode with
/// KernelABI's compiled-in layout (`ABIStruct.decoded`), compared with the kernel ELF's C
/// DWARF by offset and size. A mismatch is one line naming the member and disables only
/// the views that decode that structure (`KernelLayoutCheck.views`); the others go on.
///
/// Only C units are trusted: Swift's Embedded DWARF restates imported C types with wrong
/// offsets, so a structure the ELF describes only in Swift DWARF is reported as unchecked.
public struct KernelLayoutCheck: Sendable {
    /// One structure's verdict.
    public struct Result: Sendable, Equatable {
        public enum Status: Sendable, Equatable {
            case matches
            /// One line per member (or the size) that differs.
            case mismatched([String])
            /// Not compared, and why (no C DWARF for it).
            case unchecked(String)
        }
        public var structName: String
        public var status: Status
        public var views: [String]
    }

    public let results: [Result]

    /// What decodes each structure: the views a mismatch disables (and the prompt's task).
    public static let views: [String: [String]] = {
        let tasks = ["tasks", "task", "check", "cpus", "snapshot", "pt diff", "pt PID", "vtop --pid", "prompt task"]
        return [
            "mm_task": tasks, "mm_cpu_context": tasks, "mm_struct": tasks, "mm_user_page": tasks,
            "mm_page_pool": tasks, "mm_cpu": tasks,
            "mm_log_ring": ["log"],
            "mm_trap_frame": ["bt across exceptions"],
        ]
    }()

    /// Compares `expected` with `info`'s C DWARF.
    public init(info: DebugInfoFile, expected: [ABIStruct] = ABIStruct.decoded) {
        results = expected.map { abi in
            let views = Self.views[abi.name] ?? []
            let found: DebugType?
            do throws(DebugInfoError) { found = try info.type(named: "struct \(abi.name)", cOnly: true) } catch {
                return Result(structName: abi.name, status: .unchecked("\(error)"), views: views)
            }
            guard let type = found, !type.isDeclaration else {
                return Result(structName: abi.name, status: .unchecked("the ELF has no C DWARF for struct \(abi.name)"), views: views)
            }
            return Result(structName: abi.name, status: Self.compare(abi, type), views: views)
        }
    }

    static func compare(_ abi: ABIStruct, _ type: DebugType) -> Result.Status {
        var lines: [String] = []
        for member in abi.members {
            guard let found = type.members.first(where: { $0.name == member.name }) else {
                lines.append("struct \(abi.name).\(member.name) is missing from the ELF's DWARF")
                continue
            }
            if found.offset != member.offset {
                lines.append("struct \(abi.name).\(member.name) is at offset \(found.offset) in the ELF's DWARF, \(member.offset) in mmdbg's KernelABI")
            } else if found.type.size != member.size {
                lines.append("struct \(abi.name).\(member.name) is \(found.type.size) bytes in the ELF's DWARF, \(member.size) in mmdbg's KernelABI")
            }
        }
        if type.size != abi.size {
            lines.append("struct \(abi.name) is \(type.size) bytes in the ELF's DWARF, \(abi.size) in mmdbg's KernelABI")
        }
        return lines.isEmpty ? .matches : .mismatched(lines)
    }

    /// The first mismatch that disables `view`, as the one line a refused view prints; nil when `view` may run.
    public func problem(for view: String) -> String? {
        for result in results where result.views.contains(view) {
            if case .mismatched(let lines) = result.status {
                return "\(view) is disabled: \(lines[0]) (rebuild mmdbg against this kernel's kernel_abi.h; `info layout` lists every difference)"
            }
        }
        return nil
    }

    /// One warning line per mismatched structure, for the attach: what differs and what it disables.
    public var warnings: [String] {
        results.compactMap { result in
            guard case .mismatched(let lines) = result.status else { return nil }
            let more = lines.count > 1 ? " (and \(lines.count - 1) more)" : ""
            return "layout: \(lines[0])\(more): disabled: \(result.views.joined(separator: ", "))"
        }
    }
}
