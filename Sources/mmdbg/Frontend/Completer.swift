import CReadline
import Foundation
import MmdbgCore

/// Tab completion for readline: command names first, then each argument by
/// the kind its command declares (symbols, registers, task ids, keywords,
/// files). Readline calls C function pointers, so the state is global.
enum Completer {
    nonisolated(unsafe) private static var session: Session?
    nonisolated(unsafe) private static var candidates: [String] = []
    nonisolated(unsafe) private static var nextIndex = 0

    static func install(session: Session) {
        Completer.session = session
        rl_readline_name = UnsafePointer(strdup("mmdbg"))
        // Words break on blanks only: `$pc`, `map_page+4` and `/g` stay whole.
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n"))
        rl_attempted_completion_function = { text, start, _ in
            Completer.complete(text: text.map { String(cString: $0) } ?? "", start: Int(start))
        }
    }

    static func uninstall() {
        rl_attempted_completion_function = nil
        session = nil
    }

    /// The candidates for the word `text` that starts at `start` in the line.
    static func candidates(for text: String, lineBeforeWord: String, session: Session) -> [String]? {
        let words = lineBeforeWord.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let commandName = words.first else {
            return session.registry.allNames.filter { $0.hasPrefix(text) }
        }
        guard let spec = session.registry.lookup(commandName) else { return [] }
        let positionalIndex = words.dropFirst().filter { !$0.hasPrefix("-") && !$0.hasPrefix("/") }.count
        if text.hasPrefix("--") {
            return spec.options.map { "--" + $0.name }.filter { $0.hasPrefix(text) }
        }
        let pool: [String]
        switch spec.completion(forArgument: positionalIndex) {
        case .none: pool = []
        case .command: pool = session.registry.allNames
        case .symbol: pool = session.symbols?.names ?? []
        case .register: pool = registerNames(session)
        case .address:
            pool = text.hasPrefix("$") ? registerNames(session).map { "$" + $0 } : (session.symbols?.names ?? [])
        case .taskID: pool = (try? session.kernelViews?.taskIDs()) .flatMap { $0 }?.map(String.init) ?? []
        case .keywords(let words): pool = words
        case .file: return nil
        }
        return pool.filter { $0.hasPrefix(text) }
    }

    private static func registerNames(_ session: Session) -> [String] {
        if let names = session.target?.registerNames, !names.isEmpty { return names }
        return (0...30).map { "x\($0)" } + ["sp", "pc", "cpsr"]
    }

    private static func complete(text: String, start: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard let session else { return nil }
        let buffer = rl_line_buffer.map { String(cString: $0) } ?? ""
        let before = String(buffer.utf8.prefix(start)) ?? ""
        guard let found = candidates(for: text, lineBeforeWord: before, session: session) else {
            return nil  // readline falls back to file names
        }
        rl_attempted_completion_over = 1
        guard !found.isEmpty else { return nil }
        candidates = Array(Set(found)).sorted()
        nextIndex = 0
        return rl_completion_matches(text, { _, state in
            if state == 0 { Completer.nextIndex = 0 }
            guard Completer.nextIndex < Completer.candidates.count else { return nil }
            defer { Completer.nextIndex += 1 }
            return strdup(Completer.candidates[Completer.nextIndex])
        })
    }
}
