import ArgumentParser
import Foundation
import MmdbgCore

/// `mmdbg dap`: serve the Debug Adapter Protocol to an editor (VS Code, nvim-dap, …).
struct DapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dap",
        abstract: "Serve the Debug Adapter Protocol on stdin/stdout, or on 127.0.0.1:PORT with --port.",
        discussion: """
        An editor starts `mmdbg dap` and sends `launch` (arguments: kernel, qemuArgs, append, elf, \
        record, replay, stopOnEntry) or `attach` (gdbstub: HOST:PORT, elf). Everything mmdbg does is \
        there: breakpoints by line, function, address and data; stepping; CPUs as threads; registers, \
        system registers and the kernel's tasks and page tables as variables; any mmdbg command in the \
        Debug Console. See README "Debug Adapter Protocol".

        Examples:
          mmdbg dap                 # an editor runs this and talks over stdio
          mmdbg dap --port 4711     # wait for one client on 127.0.0.1:4711 (0: a free port, printed on stderr)
        """
    )

    @Option(name: .customLong("port"), help: ArgumentHelp("Serve one client on 127.0.0.1:PORT instead of stdio (0: any free port; the port is printed on stderr).", valueName: "PORT"))
    var port: Int?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535, not \(port)") }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let frontend = Frontend(options: try FrontendOptions.parse([]))
        var messages: [String] = []
        frontend.statusSink = { messages.append($0) }
        func failure() -> DAPStartFailure {
            let text = messages.filter { $0.hasPrefix("error: ") || $0.hasPrefix("warning: ") }
                .map { $0.hasPrefix("error: ") ? String($0.dropFirst(7)) : $0 }.joined(separator: "; ")
            messages = []
            return DAPStartFailure(text.isEmpty ? "failed" : text)
        }
        let factory = DAPSessionFactory(
            launch: { (request: DAPLaunchArguments) throws(DAPStartFailure) -> Session in
                do {
                    if let replay = request.replay {
                        return try ReplayCommand.startReplay(frontend, directory: replay, kernel: request.kernel, elf: request.elf)
                    }
                    return try LaunchCommand.startSession(frontend, kernel: request.kernel, qemuArguments: request.qemuArgs,
                                                          append: request.append, record: request.record, elf: request.elf)
                } catch { throw failure() }
            },
            attach: { (address: String, elf: String?) throws(DAPStartFailure) -> Session in
                let session = frontend.makeSession()
                if let elf {
                    do { session.symbols = try session.services.loadSymbols(elf) } catch {
                        throw DAPStartFailure("cannot load \(elf): \(error)")
                    }
                }
                do { try session.attach(to: address) } catch {
                    session.end()
                    throw DAPStartFailure("cannot attach to \(address): \(error)")
                }
                return session
            })
        let transport: DAPTransport
        if let port {
            do {
                transport = try DAPTransport.acceptOne(port: port) { actual in
                    FileHandle.standardError.write(Data("mmdbg dap: listening on 127.0.0.1:\(actual)\n".utf8))
                }
            } catch {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ProcessExit(status: .cannotConnect)
            }
        } else {
            transport = DAPTransport(input: STDIN_FILENO, output: STDOUT_FILENO)
        }
        let status = DebugAdapter(transport: transport, factory: factory).run()
        if status != 0 { throw ProcessExit(status: .commandFailed) }
    }
}
