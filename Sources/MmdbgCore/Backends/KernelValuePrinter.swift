import DebugInfo
import Inspect

/// `print`'s kernel pretty-printer (`print/r` turns it off): what this kernel's values mean.
/// - `mm_task.state` and `mm_cpu.state` by name: `running (2)`, `busy (2)`;
/// - `mm_task.name` as the string it holds: `"init"`;
/// - `mm_struct.user_pages` as the slots in use, each with its decoded flags, and `kernel_pages` likewise;
/// - physical addresses (`pgd`, `kernel_pages[i]`, `user_pages[i].pa`, the pool's `free_list`) marked
///   `<free page>`, `<allocated page>` or `<outside the page pool>` from the pool's free list;
/// - `mm_user_page.flags` with its attributes as `vtop` prints them;
/// - addresses the C types hold as integers (`kernel_stack`, `trap_frame`, saved `pc`/`sp`/`fp`, `uva`,
///   `brk`, `mm_cpu.current`) in hex with the symbol holding them.
/// Recognised by the structure and member a value comes from (`TypedValue.memberOf`), so
/// `print mm_current->state` is named as `print *mm_current` names it.
struct KernelValuePrinter: ValuePrettyPrinter {
    let views: KernelViews

    func text(_ value: TypedValue, formatter: ValueFormatter, depth: Int) throws(CommandError) -> String? {
        guard let (parent, member) = value.memberOf, let structName = parent.name else { return nil }
        let evaluator = formatter.evaluator
        switch (structName, member) {
        case ("mm_task", "state"):
            guard value.type.resolved.isInteger else { return nil }
            let raw = Int64(bitPattern: try evaluator.scalar(value))
            let state = TaskState(raw: raw)
            return state == .unknown ? "\(raw) (not a task state)" : "\(state.rawValue) (\(raw))"
        case ("mm_cpu", "state"):
            guard value.type.resolved.isInteger else { return nil }
            let raw = Int64(bitPattern: try evaluator.scalar(value))
            let names = ["offline", "idle", "busy"]   // MM_CPU_OFFLINE, MM_CPU_IDLE, MM_CPU_BUSY
            return names.indices.contains(Int(raw)) ? "\(names[Int(raw)]) (\(raw))" : "\(raw) (not a CPU state)"
        case ("mm_task", "name"):
            guard value.type.resolved.kind == .array else { return nil }
            let bytes = try evaluator.bytes(of: value)
            return formatter.quoted(Array(bytes.prefix { $0 != 0 }) + [0])
        case ("mm_struct", "user_pages"), ("mm_struct", "kernel_pages"):
            return try usedSlots(value, formatter: formatter, depth: depth)
        case ("mm_task", "kernel_stack"), ("mm_task", "trap_frame"), ("mm_cpu_context", "sp"), ("mm_cpu_context", "fp"),
             ("mm_cpu_context", "pc"), ("mm_user_page", "uva"), ("mm_struct", "brk"), ("mm_cpu", "current"), ("mm_cpu", "idle"):
            // Addresses the C type calls integers: hex, with the symbol holding them.
            guard value.type.resolved.isInteger else { return nil }
            let address = try evaluator.scalar(value)
            return Hex.format(address) + (address == 0 ? "" : evaluator.context.symbolize(address).map { " <\($0)>" } ?? "")
        case ("mm_struct", "pgd"), ("mm_user_page", "pa"), ("mm_page_pool", "free_list"), ("mm_page_pool", "base_pa"):
            guard value.type.resolved.isInteger else { return nil }
            return physical(try evaluator.scalar(value))
        case ("mm_user_page", "flags"):
            guard value.type.resolved.isInteger else { return nil }
            let raw = try evaluator.scalar(value)
            return Hex.format(raw) + (views.leafAttributesText(raw).map { " <\($0)>" } ?? "")
        default:
            return nil
        }
    }

    /// `0x41d52000 <allocated page>` (0: an empty slot, no note).
    private func physical(_ address: UInt64) -> String {
        guard address != 0 else { return "0x0" }
        return Hex.format(address) + (views.pagePoolNote(address).map { " <\($0)>" } ?? "")
    }

    /// An array of slots where zero is empty: only the used ones, by index, and how many.
    private func usedSlots(_ value: TypedValue, formatter: ValueFormatter, depth: Int) throws(CommandError) -> String? {
        let type = value.type.resolved
        guard type.kind == .array, let element = type.target, element.size > 0 else { return nil }
        let bytes = try formatter.evaluator.bytes(of: value)
        let size = Int(element.size)
        let count = bytes.count / size
        var shown: [String] = []
        for index in 0..<count {
            let slice = Array(bytes[(index * size)..<((index + 1) * size)])
            // user_pages: an empty slot has pa 0 (its first word); kernel_pages: a zero entry.
            guard slice.prefix(8).contains(where: { $0 != 0 }) else { continue }
            var item = TypedValue(type: element, bytes: slice)
            if element.resolved.isInteger {
                shown.append("[\(index)] = " + physical(try formatter.evaluator.scalar(item)))
            } else {
                item.memberOf = nil
                shown.append("[\(index)] = " + (try formatter.text(item, depth: depth + 1)))
            }
        }
        return "{" + shown.joined(separator: ", ") + "} (\(shown.count) of \(count) slots used)"
    }
}
