import Foundation
import FaultInjection
import MmdbgCore

/// Drives one session from the command line: builds it, attaches, then runs
/// `-ex` commands, a `--batch` file, piped stdin, or the interactive prompt,
/// printing each result as text or JSON.
final class Frontend: @unchecked Sendable {
    let options: FrontendOptions
    let renderer: TextRenderer
    let interrupts = InterruptMonitor()
    private let executingLock = NSLock()
    private var executing = false

    init(options: FrontendOptions) {
        self.options = options
        self.renderer = TextRenderer(colour: isatty(STDOUT_FILENO) == 1 && !options.json
                                     && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
    }

    /// Where status lines go instead of stderr (`mmdbg dap` turns them into error messages and output events).
    var statusSink: ((String) -> Void)?

    /// A status line for the user (stderr, never mixed with results).
    func status(_ text: String) {
        if let statusSink { return statusSink(text) }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// The standard session (SessionServices.standard) with every module's commands.
    func makeSession() -> Session {
        let session = Session(registry: FaultCommands.makeRegistry())
        session.connection.directMemory = options.memoryPath == .auto
        session.progress = StderrProgress()
        session.runTimeout = options.runTimeout
        session.interruptRequested = { [interrupts] in interrupts.consume() }
        return session
    }

    func loadSymbols(into session: Session, default path: String) {
        do {
            session.symbols = try session.services.loadSymbols(path)
        } catch {
            status("warning: \(error.description)")
        }
    }

    /// Attaches, or exits with status 3 when the stub cannot be reached.
    func attach(_ session: Session, to address: String) throws {
        do {
            try session.attach(to: address)
        } catch {
            status("error: cannot attach to \(address): \(error.description)")
            session.end()
            throw ProcessExit(status: .cannotConnect)
        }
        // The layout check on attach: one warning per structure whose DWARF layout differs
        // from KernelABI's, naming the views it disables (the rest work).
        for warning in session.kernelLayoutCheck()?.warnings ?? [] { status("warning: \(warning)") }
    }

    /// Runs the session to its end and exits with the right status.
    func run(_ session: Session) throws {
        interrupts.commandRunning = { [self] in executingLock.withLock { executing } }
        let scripted = !options.commands.isEmpty || options.batchFile != nil || isatty(STDIN_FILENO) != 1
        let launchedPID = session.launchedQEMU?.pid
        interrupts.idleAction = scripted ? {
            // Nothing to interrupt: Ctrl-C ends a script and the QEMU mmdbg launched.
            if let launchedPID { kill(launchedPID, SIGKILL) }
            _exit(130)
        } : { [interrupts] in
            // At the prompt: the readline hook (main thread) discards the line or interrupts the target.
            interrupts.markPending()
        }
        interrupts.install()
        interrupts.installTermination(killing: session.launchedQEMU?.pid)
        defer { session.end() }
        if !scripted {
            session.interactive = true
            Prompt(frontend: self, session: session).run()
            return
        }
        var failed = false
        var ended = false
        for command in options.commands where !ended {
            let result = execute(command, in: session)
            failed = failed || !result.succeeded
            ended = result.endsSession
        }
        if !ended {
            if let file = options.batchFile {
                // FrontendOptions.validate() checked it before anything was launched;
                // a file changed since then is still one error line, not an empty script.
                do throws(BatchFile.Problem) {
                    var lines = try BatchFile.lines(of: file).makeIterator()
                    failed = runScript({ lines.next() }, in: session) || failed
                } catch {
                    status("error: \(error.description)")
                    failed = true
                }
            } else if options.commands.isEmpty {
                // Line by line as they arrive, so a program can drive mmdbg through a pipe.
                failed = runScript({ readLine() }, in: session) || failed
            }
        }
        if failed {
            session.end()
            throw ProcessExit(status: .commandFailed)
        }
    }

    /// Runs script lines until the first failure or `quit`; returns true if one failed.
    private func runScript(_ nextLine: () -> String?, in session: Session) -> Bool {
        var number = 0
        while let line = nextLine() {
            number += 1
            let result = execute(line, in: session, lineNumber: number)
            if !result.succeeded { return true }
            if result.endsSession { break }
        }
        return false
    }

    /// Executes one line and prints its result; errors go to stderr as one line.
    @discardableResult
    func execute(_ line: String, in session: Session, lineNumber: Int? = nil) -> CommandResult {
        interrupts.reset()
        executingLock.withLock { executing = true }
        let result = session.execute(line: line)
        executingLock.withLock { executing = false }
        if result.command == nil && result.succeeded { return result }  // blank line or comment
        if options.json {
            print(result.jsonDocument.serialized())
        } else if case .success(let output) = result.outcome {
            let text = renderer.render(output)
            if !text.isEmpty { print(text) }
        }
        if let error = result.error {
            let prefix = lineNumber.map { "line \($0): " } ?? ""
            status(prefix + renderer.render(error: error, atPrompt: session.interactive))
        }
        fflush(stdout)
        return result
    }
}
