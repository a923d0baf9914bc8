import DebugInfo
import Foundation
import MmdbgCore
import QEMULauncher
import SeededRandom

/// Fuzzes `print`'s expression language: COUNT generated inputs through the parser, the
/// evaluator and both formatters (text and JSON), against the real kernel ELF's DWARF types
/// and its initialised data (`ELFTypedData`: no target needed). Inputs are C-like
/// expressions grown from a grammar over the kernel's own names, then mutated (bytes
/// inserted, deleted, replaced, spliced, truncated), plus raw random bytes. Every input must
/// either give a value or fail with ONE line (no newline, at most 400 characters, not empty);
/// a trap kills the process (the caller sees it). Deterministic for a seed.
///
///     expression-fuzz [--count N] [--seed S] [--elf PATH]
/// Prints one summary line; exit 0 = no violation, 1 = a violation (the input is printed), 2 = setup.
func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let count = Int(option("--count") ?? "1000000") ?? 1_000_000
let seed = UInt64(option("--seed") ?? "2026") ?? 2026
let elfPath = option("--elf") ?? KernelImage.defaultPath()

let context: ELFTypedData
do {
    context = ELFTypedData(info: try DebugInfoFile(path: elfPath), symbols: try ELFSymbolTable(path: elfPath))
} catch {
    print("expression-fuzz: cannot load \(elfPath): \(error)")
    exit(2)
}
let evaluator = TypedEvaluator(context: context)

/// Grammar pieces: the kernel's own globals, members and types, C's operators and literals.
let globals = ["mm_tasks", "mm_current", "mm_pool", "mm_cpus", "mm_log", "mm_layout", "mm_tick", "map_page", "nope"]
let members = ["pid", "state", "name", "mm", "user_pages", "kernel_pages", "pgd", "brk", "pa", "uva", "flags", "context",
               "sp", "pc", "free_list", "page_count", "current", "buf", "head", "magic", "x", "nope"]
let types = ["struct mm_task", "struct mm_page_pool", "struct mm_struct", "struct mm_user_page", "uint64_t", "int64_t",
             "char", "int", "unsigned long", "struct nope", "void", "_Bool", "unsigned char"]
let binary = ["+", "-", "*", "/", "%", "<<", ">>", "<", ">", "<=", ">=", "==", "!=", "&", "^", "|", "&&", "||"]
let unary = ["-", "~", "!", "*", "&", "sizeof "]
let literals = ["0", "1", "7", "0x10", "0xffffffffffffffff", "18446744073709551615", "99999999999999999999", "'a'", "'\\n'",
                "'\\0'", "0b101", "10ul", "-1", "$x0", "$pc", "$sp", "$nope", "$", "1.5"]

var random = SeededGenerator(seed: seed)
@MainActor func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
@MainActor func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

@MainActor func expression(_ depth: Int) -> String {
    if depth > 6 || chance(25) { return chance(60) ? pick(globals) : pick(literals) }
    switch random.next() % 9 {
    case 0: return expression(depth + 1) + " " + pick(binary) + " " + expression(depth + 1)
    case 1: return pick(unary) + expression(depth + 1)
    case 2: return "(" + expression(depth + 1) + ")"
    case 3: return "(" + pick(types) + (chance(50) ? " *" : "") + ")" + expression(depth + 1)
    case 4: return expression(depth + 1) + "." + pick(members)
    case 5: return expression(depth + 1) + "->" + pick(members)
    case 6: return expression(depth + 1) + "[" + expression(depth + 1) + "]"
    case 7: return "sizeof(" + pick(types) + ")"
    default: return pick(globals) + (chance(50) ? "[\(random.next() % 20)]" : "") + "." + pick(members)
    }
}

@MainActor func mutate(_ text: String) -> String {
    var bytes = Array(text.utf8)
    for _ in 0..<(1 + random.next() % 4) {
        let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
        switch random.next() % 5 {
        case 0: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
        case 1: if position < bytes.count { bytes.remove(at: position) }
        case 2: if position < bytes.count { bytes[position] = pick(Array("()[]*&.->'\"\\$0x9 \n\t\u{7f}".utf8)) }
        case 3: bytes = Array(bytes.prefix(position))
        default: bytes.insert(contentsOf: Array(expression(3).utf8), at: position)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

@MainActor func input(_ index: Int) -> String {
    switch random.next() % 10 {
    case 0: return String(decoding: (0..<(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, as: UTF8.self)
    case 1, 2, 3: return mutate(expression(0))
    case 4: return String(repeating: "(", count: Int(random.next() % 200)) + "1"   // depth limits
    default: return expression(0)
    }
}

/// A failure must be one short line.
func checkError(_ error: CommandError, _ text: String) {
    let line = error.description
    guard !line.isEmpty, !line.contains("\n"), line.count <= 400 else {
        print("expression-fuzz: VIOLATION: error for input \(String(reflecting: text)) is not one line of at most 400 characters: \(String(reflecting: line))")
        exit(1)
    }
}

let start = Date()
var values = 0, errors = 0
var kinds: [String: Int] = [:]
for index in 0..<count {
    let text = input(index)
    do throws(CommandError) {
        let value = try evaluator.evaluate(text)
        var formatter = ValueFormatter(evaluator: evaluator, format: pick([.natural, .hex, .decimal, .binary, .character]))
        formatter.elementLimit = 50
        _ = try formatter.text(value)
        _ = try formatter.json(value)
        _ = ValueFormatter.ptype(value.type)
        values += 1
    } catch {
        checkError(error, text)
        errors += 1
        let kind = String(error.description.prefix(while: { $0 != ":" && $0 != "\"" }).prefix(40))
        kinds[kind, default: 0] += 1
    }
}
let seconds = Date().timeIntervalSince(start)
print(String(format: "expression-fuzz: %d inputs (seed %llu) in %.1f s (%.0f/s): %d values, %d one-line errors of %d kinds; no violation",
             count, seed, seconds, Double(count) / seconds, values, errors, kinds.count))
