import CReadline
import Foundation
import MmdbgCore

/// Connects readline's TAB to `CompletionEngine`. Readline calls C function
/// pointers, so the state is global.
enum Completer {
    nonisolated(unsafe) private static var session: Session?
    nonisolated(unsafe) private static var candidates: [String] = []
    nonisolated(unsafe) private static var nextIndex = 0

    static func install(session: Session) {
        Completer.session = session
        rl_readline_name = UnsafePointer(strdup("mmdbg"))
        // Words break on blanks only: `$pc`, `map_page+4` and `/g` stay whole.
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n"))
        // One TAB lists the candidates when they share no prefix to insert (`info `, `pt `):
        // readline's default rings the bell and waits for a second TAB, which looked like
        // "no completion". ~/.inputrc, read after this, still decides.
        rl_variable_bind("show-all-if-unmodified", "on")
        rl_attempted_completion_function = { text, start, _ in
            Completer.complete(text: text.map { String(cString: $0) } ?? "", start: Int(start))
        }
    }

    static func uninstall() {
        rl_attempted_completion_function = nil
        session = nil
    }

    private static func complete(text: String, start: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard let session else { return nil }
        let buffer = rl_line_buffer.map { String(cString: $0) } ?? ""
        let before = String(buffer.utf8.prefix(start)) ?? ""
        guard let found = CompletionEngine.candidates(for: text, lineBeforeWord: before, session: session) else {
            return nil  // readline falls back to file names
        }
        rl_attempted_completion_over = 1
        guard !found.isEmpty else { return nil }
        candidates = found
        nextIndex = 0
        return rl_completion_matches(text, { _, state in
            if state == 0 { Completer.nextIndex = 0 }
            guard Completer.nextIndex < Completer.candidates.count else { return nil }
            defer { Completer.nextIndex += 1 }
            return strdup(Completer.candidates[Completer.nextIndex])
        })
    }
}
