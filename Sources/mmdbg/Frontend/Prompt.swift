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
        while true {
            guard let raw = readline(session.state.prompt) else {
                print("")  // Ctrl-D: leave like `quit`
                frontend.execute("quit", in: session)
                break
            }
            let line = String(cString: raw)
            free(raw)
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
