import CReadline
import Foundation
import MmdbgCore

/// The interactive prompt: readline with history and completion; the prompt
/// text shows the target's state.
struct Prompt {
    let frontend: Frontend
    let session: Session

    /// `$MMDBG_HISTORY`, else ~/.mmdbg_history.
    static var historyPath: String {
        let env = ProcessInfo.processInfo.environment
        if let path = env["MMDBG_HISTORY"], !path.isEmpty { return path }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.mmdbg_history"
    }

    func run() {
        let history = Prompt.historyPath
        stifle_history(2000)  // keep the file from growing without bound
        read_history(history)
        Completer.install(session: session)
        defer { Completer.uninstall() }
        PromptCtrlC.install(frontend.interrupts)
        defer { PromptCtrlC.uninstall() }
        while true {
            guard let raw = readline(session.prompt) else {
                print("")  // Ctrl-D: leave like `quit`
                frontend.execute("quit", in: session)
                break
            }
            let line = String(cString: raw)
            free(raw)
            if PromptCtrlC.takeFired() {
                // Ctrl-C: the half-typed line is dropped (like gdb and bash); a running target is stopped.
                if session.state == .running { frontend.execute("interrupt", in: session) }
                continue
            }
            if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                add_history(line)
                // Written after every command so a crash or kill keeps the history.
                write_history(history)
            }
            let result = frontend.execute(line, in: session)
            if result.endsSession { break }
        }
    }
}

/// Ctrl-C at the prompt. SIGINT arrives on a dispatch thread, which only marks
/// the request (`InterruptMonitor.markPending()`); readline calls `poll()` on
/// the main thread about twenty times a second while it waits for a key, and
/// `poll()` ends the current `readline()` call so the prompt loop can act on
/// it. Readline calls a C function pointer, so the state is global.
enum PromptCtrlC {
    nonisolated(unsafe) private static var monitor: InterruptMonitor?
    nonisolated(unsafe) private static var fired = false

    static func install(_ monitor: InterruptMonitor) {
        PromptCtrlC.monitor = monitor
        // Readline's own signal handling stays on: it leaves SIGINT alone (mmdbg set it to
        // SIG_IGN for the dispatch source) and still restores the terminal on Ctrl-Z.
        rl_set_keyboard_input_timeout(50_000)
        rl_event_hook = { PromptCtrlC.poll() }
    }

    static func uninstall() {
        rl_event_hook = nil
        monitor = nil
    }

    /// True once after `poll()` ended a `readline()` call for a Ctrl-C.
    static func takeFired() -> Bool {
        defer { fired = false }
        return fired
    }

    private static func poll() -> Int32 {
        guard !fired, monitor?.consume() == true else { return 0 }
        fired = true
        rl_echo_signal_char(SIGINT)  // `^C` after what was typed, as the terminal would show it
        // Readline returns the line once it sees rl_done; the prompt loop drops it.
        rl_done = 1
        return 0
    }
}
