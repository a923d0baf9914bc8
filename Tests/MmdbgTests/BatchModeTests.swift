import Foundation
import Testing
import QEMULauncher
import TestSupport

extension SystemTests {
    /// The real mmdbg binary against the real QEMU and kernel, without a prompt.
    @Suite("mmdbg batch mode: outputs and exit codes", .serialized)
    struct BatchModeTests {
        @Test func helpAndStatusSucceedAndQuitKillsTheLaunchedQEMU() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "help", "-ex", "status", "-ex", "quit"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 3, "one JSON document per command: \(run.stdout)")
            let commands = (docs[0]["result"] as? [String: Any])?["commands"] as? [[String: Any]] ?? []
            #expect(commands.contains { $0["name"] as? String == "vtop" && ($0["usage"] as? String)?.hasPrefix("vtop VA") == true })
            let status = try #require(docs[1]["result"] as? [String: Any])
            #expect(status["ownership"] as? String == "launched")
            let pid = try #require(status["qemuPid"] as? Int)
            let address = try #require(status["address"] as? String)
            #expect(address.hasPrefix("127.0.0.1:"))
            #expect((docs[2]["result"] as? [String: Any])?["action"] as? String == "kill")
            // The QEMU mmdbg launched is gone once mmdbg has exited.
            #expect(!HostProcess.isAlive(Int32(pid)), "QEMU pid \(pid) still alive after quit")
        }

        @Test func aFailedCommandExitsOneWithOneErrorLine() throws {
            let run = try MmdbgBinary.run(["-ex", "status", "-ex", "frobnicate 3", "-ex", "help x"])
            #expect(run.status == 1)
            let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors == [#"error: unknown command "frobnicate" (type `help` for the list)"#])
            // -ex keeps going after a failure, like gdb.
            #expect(run.stdout.contains("x ADDR [COUNT] [/b|h|w|g|s] [--phys]"))
            #expect(!run.stdout.contains("\u{1B}[") && !run.stderr.contains("\u{1B}["), "no colour when not on a terminal")
        }

        @Test func usageErrorsExitTwo() throws {
            let badFlag = try MmdbgBinary.run(["--no-such-flag"])
            #expect(badFlag.status == 2)
            #expect(badFlag.stderr.contains("--no-such-flag"))
            let badAddress = try MmdbgBinary.run(["attach", "nonsense"])
            #expect(badAddress.status == 2)
            #expect(badAddress.stderr.contains("ADDRESS must be HOST:PORT"))
            let missingBatch = try MmdbgBinary.run(["--batch", "/nonexistent/script.mmdbg"])
            #expect(missingBatch.status == 2)
            #expect(missingBatch.stderr.contains("cannot read batch file /nonexistent/script.mmdbg"))
        }

        @Test func unusableBatchFilesAreUsageErrorsBeforeLaunch() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-badbatch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let binary = dir.appendingPathComponent("binary.mmdbg")
            try Data([0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x0a, 0xff, 0xfe, 0x0a]).write(to: binary)
            // /dev/zero never ends: reading it whole would hang; a directory and non-UTF-8 bytes are no script either.
            let cases = [("/dev/zero", "batch file /dev/zero is not a regular file"),
                         (dir.path, "batch file \(dir.path) is not a regular file"),
                         (binary.path, "batch file \(binary.path) is not UTF-8 text")]
            for (path, message) in cases {
                let run = try MmdbgBinary.run(["--batch", path], timeout: 20)
                #expect(run.status == 2, "\(path): \(run.stderr)")
                #expect(run.stderr.contains(message), "\(path): \(run.stderr)")
                #expect(!run.stderr.contains("QEMU pid"), "nothing is launched for a bad script")
            }
        }

        @Test func cannotLaunchExitsThree() throws {
            let run = try MmdbgBinary.run(["--kernel", "/nonexistent/kernel.elf", "-ex", "status"])
            #expect(run.status == 3)
            #expect(run.stderr.contains("kernel image /nonexistent/kernel.elf not found"))
        }

        @Test func launchRefusesAFileQEMUCannotBootAsAnAArch64Kernel() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-badkernel-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            // An x86-64 ELF header (e_machine 62) and a text file: QEMU would load either as raw bytes and run them.
            var x86 = [UInt8](repeating: 0, count: 64)
            x86.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
            x86[18] = 62
            let x86Path = dir.appendingPathComponent("x86.elf").path
            try Data(x86).write(to: URL(fileURLWithPath: x86Path))
            let cases = [("/etc/passwd", "error: kernel image /etc/passwd is neither an AArch64 ELF nor an arm64 Linux Image"),
                         (x86Path, "error: kernel image \(x86Path) is an ELF for machine 62, not AArch64 (183)")]
            for (path, message) in cases {
                let run = try MmdbgBinary.run(["launch", "--kernel", path, "-ex", "regs"], timeout: 20)
                #expect(run.status == 3, "\(path): \(run.stderr)")
                let lines = run.stderr.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].hasPrefix(message), "one line: \(run.stderr)")
                #expect(run.stdout.isEmpty, "nothing ran: \(run.stdout)")
            }
            // A raw arm64 Linux Image ("ARM\x64" at 0x38) is a legitimate -kernel input.
            var image = [UInt8](repeating: 0, count: 4096)
            image.replaceSubrange(0x38..<0x3C, with: [0x41, 0x52, 0x4D, 0x64])
            let imagePath = dir.appendingPathComponent("Image").path
            try Data(image).write(to: URL(fileURLWithPath: imagePath))
            let raw = try MmdbgBinary.run(["launch", "--kernel", imagePath, "-ex", "status"], timeout: 60)
            #expect(raw.status == 0, "stderr: \(raw.stderr)")
            #expect(raw.stdout.contains("launched by mmdbg"))
        }

        @Test func replayOfAMissingOrForeignFileIsAUsageErrorThatNamesTheProblem() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-badtrace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let foreign = dir.appendingPathComponent("package.json")
            try #"{"format": 1, "name": "not a trace"}"#.write(to: foreign, atomically: true, encoding: .utf8)
            let wrongType = dir.appendingPathComponent("typed.json")
            try #"{"format": 1, "scenario": 7}"#.write(to: wrongType, atomically: true, encoding: .utf8)
            let cases = [("/nonexistent/t.trace.json", "error: /nonexistent/t.trace.json: no such trace file"),
                         (foreign.path, "error: \(foreign.path): not an mmdbg fault trace: key \"scenario\" is missing"),
                         (wrongType.path, "error: \(wrongType.path): not an mmdbg fault trace: key \"scenario\" is not a string"),
                         (dir.path, "error: \(dir.path): a directory, not a trace file")]
            for (path, message) in cases {
                let run = try MmdbgBinary.run(["replay", path], timeout: 20)
                #expect(run.status == 2, "\(path): \(run.stderr)")
                #expect(run.stderr == message + "\n")
            }
        }

        @Test func aStubThatHangsUpInTheHandshakeIsOneLineWithoutAReattachHint() throws {
            let stub = try ClosingStub()
            defer { stub.stop() }
            let run = try MmdbgBinary.run(["attach", "127.0.0.1:\(stub.port)", "-ex", "status"], timeout: 30)
            #expect(run.status == 3, "stderr: \(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: cannot attach to 127.0.0.1:\(stub.port): connection lost"), "\(run.stderr)")
            // There is no prompt in this mode to type `attach` at.
            #expect(!run.stderr.contains("re-attach"), "\(run.stderr)")
        }

        @Test func cannotConnectExitsThree() throws {
            // A port nothing listens on: bound a moment ago and released.
            let port = try #require(QEMUInstance.freeTCPPort())
            let run = try MmdbgBinary.run(["attach", "127.0.0.1:\(port)", "-ex", "status"], timeout: 30)
            #expect(run.status == 3, "stderr: \(run.stderr)")
            #expect(run.stderr.contains("cannot attach to 127.0.0.1:\(port)"))
        }

        @Test func batchFileStopsAtTheFirstFailureAndNamesTheLine() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-batch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("script.mmdbg")
            try "# a comment line\nstatus\n\nx 0x40080000 /q\nhelp x\n".write(to: file, atomically: true, encoding: .utf8)
            let run = try MmdbgBinary.run(["--batch", file.path])
            #expect(run.status == 1)
            #expect(run.stderr.contains("line 4: error: unknown format /q; usage: x ADDR"))
            #expect(run.stdout.contains("launched by mmdbg"))
            #expect(!run.stdout.contains("examples:"), "commands after the failure must not run")
        }

        @Test func commandsPipedOnStdinRunWithoutAPrompt() throws {
            let run = try MmdbgBinary.run([], stdin: "status\nhelp addr\n")
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(!run.stdout.contains("(mmdbg "), "no prompt when stdin is not a terminal")
            #expect(run.stdout.contains("addr SYMBOL"))
        }

        @Test func slowWorkShowsAProgressLineOnStderrOnly() throws {
            let guest = try TinyGuest.image()
            let run = try MmdbgBinary.run(["--kernel", guest, "-ex", "stepi 20000", "-ex", "stepi"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            #expect(run.stderr.contains("… stepping"), "a progress line for work over half a second: \(run.stderr)")
            #expect(run.stdout.contains("20000 steps: stopped at loop"))
            #expect(!run.stdout.contains("…"), "progress never mixes with results")
            #expect(run.stderr.components(separatedBy: "… stepping").count == 2, "only the slow command shows progress")
        }

        @Test func qemuArgumentsReachQEMU() throws {
            let run = try MmdbgBinary.run(["--json", "--qemu-arg=-smp", "--qemu-arg=2", "-ex", "monitor info cpus"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let output = try #require(try run.jsonDocuments().first?.result?.string("output"))
            #expect(output.contains("CPU #0") && output.contains("CPU #1"), "two vCPUs: \(output)")
        }

        @Test func aTimedOutRunKillsMmdbgAndItsQEMU() throws {
            let guest = try TinyGuest.image()  // loops forever: `continue` never returns by itself
            var qemuPID: Int32?
            // The deadline must pass after mmdbg has launched QEMU: a loaded host may
            // not get there within the short one, so try again with longer ones.
            for timeout in [3.0, 10, 40] where qemuPID == nil {
                do {
                    _ = try MmdbgBinary.run(["--kernel", guest, "-ex", "continue --timeout 60"], timeout: timeout)
                    Issue.record("mmdbg finished although the guest never stops")
                    return
                } catch let failure as ChildProcess.Failure {
                    guard case .timedOut(_, _, _, let stderr) = failure else { throw failure }
                    qemuPID = stderr.split(separator: "\n").first { $0.hasPrefix("QEMU pid ") }
                        .flatMap { Int32($0.dropFirst("QEMU pid ".count).prefix { $0.isNumber }) }
                }
            }
            let pid = try #require(qemuPID, "mmdbg announced the QEMU it launched")
            #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(pid) }, "QEMU \(pid) must die with the timed-out mmdbg")
        }

        @Test func sigtermKillsTheLaunchedQEMU() throws {
            let guest = try TinyGuest.image()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try MmdbgBinary.path())
            process.arguments = ["--kernel", guest, "--json", "-ex", "status", "-ex", "continue --timeout 60"]
            let out = Pipe()
            let collected = OutputCollector()
            out.fileHandleForReading.readabilityHandler = { [collected] in collected.append(\.stdout, $0.availableData) }
            defer { out.fileHandleForReading.readabilityHandler = nil }
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            // The first line is `status`, with the QEMU pid; then the guest runs.
            _ = HostProcess.eventually(within: 30) { collected.text(\.stdout).contains("\n") || !process.isRunning }
            let line = try #require(collected.text(\.stdout).split(separator: "\n").first, "no status line within 30 s")
            let status = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let qemuPID = try #require(status.result?["qemuPid"] as? Int)
            // SIGTERM while `continue` waits on the running guest (its QEMU burns CPU).
            #expect(HostProcess.waitForCPUUse(of: Int32(qemuPID), seconds: 0.2, within: 30), "the guest never ran")
            kill(process.processIdentifier, SIGTERM)
            #expect(HostProcess.eventually(within: 30) { !process.isRunning }, "mmdbg outlived SIGTERM")
            try #require(!process.isRunning)
            #expect(process.terminationStatus == 128 + SIGTERM)
            #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(Int32(qemuPID)) }, "QEMU \(qemuPID) must not outlive mmdbg")
        }
    }
}
