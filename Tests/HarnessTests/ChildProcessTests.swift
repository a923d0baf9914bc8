import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The shared runner of test-support child processes.
struct ChildProcessSystemTests {
    @Test("stdout and stderr far past a pipe's 64 KiB are drained while the child runs")
    func drainsLargeOutput() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2; exit 3"],
                                          timeout: 20)
        #expect(result.status == 3)
        #expect(result.stdout.utf8.count == 300_000 && result.stdout.allSatisfy { $0 == "a" })
        #expect(result.stderr.utf8.count == 200_000 && result.stderr.allSatisfy { $0 == "b" })
    }

    @Test("stdin larger than a pipe reaches the child, then EOF")
    func feedsStdin() throws {
        let text = String(repeating: "0123456789abcdef\n", count: 20_000)
        let result = try ChildProcess.run("cat", [], stdin: text, timeout: 20)
        #expect(result.status == 0)
        #expect(result.stdout == text)
    }

    @Test("a child that never reads its stdin cannot stall the deadline, and dies of SIGPIPE-free EPIPE")
    func unreadStdinDoesNotBlock() throws {
        let megabyte = String(repeating: "x", count: 1 << 20)
        let started = Date()
        let quick = try ChildProcess.run("/bin/sh", ["-c", "exit 0"], stdin: megabyte, timeout: 20)
        #expect(quick.status == 0)
        #expect(throws: ChildProcess.Failure.self) {
            _ = try ChildProcess.run("sleep", ["30"], stdin: megabyte, timeout: 1)
        }
        #expect(Date().timeIntervalSince(started) < 8)
    }

    @Test("a timeout kills the whole process group and throws a one-line error")
    func timeoutKillsTheGroup() throws {
        let started = Date()
        var thrown: ChildProcess.Failure?
        do {
            _ = try ChildProcess.run("/bin/sh", ["-c", "sleep 30 & echo $!; echo started >&2; wait"], timeout: 1)
        } catch {
            thrown = error
        }
        let elapsed = Date().timeIntervalSince(started)
        guard case .timedOut(let command, let seconds, let stdoutTail, let stderrTail)? = thrown else {
            Issue.record("expected a timeout, got \(String(describing: thrown))"); return
        }
        #expect(command.hasPrefix("sh -c sleep 30"))
        #expect(seconds == 1)
        #expect(stderrTail.contains("started"))
        #expect(elapsed < 6)
        #expect(!thrown!.description.contains("\n"))
        #expect(thrown!.description.contains("did not finish within 1.0 s"))
        // The grandchild was in the group: it died with the shell.
        let grandchild = try #require(Int32(stdoutTail.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(HostProcess.eventually(within: 10) { !HostProcess.isAlive(grandchild) }, "sleep \(grandchild) survived the timeout")
    }

    @Test("exit status, death by signal, environment and working directory")
    func statusEnvironmentAndDirectory() throws {
        let killed = try ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"], timeout: 10)
        #expect(killed.status == 128 + SIGTERM)
        let directory = FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path
        let result = try ChildProcess.run("/bin/sh", ["-c", "pwd; echo \"$MMDBG_CHILD_TEST-${HOME:-unset}\""], timeout: 10,
                                          environment: ["MMDBG_CHILD_TEST": "set", "HOME": nil], currentDirectory: directory)
        #expect(result.stdout == "\(directory)\nset-unset\n")
    }

    @Test("a missing program or directory is a one-line error, not a crash")
    func badInput() {
        #expect(throws: ChildProcess.Failure.notFound("no-such-program-mmdbg")) {
            _ = try ChildProcess.run("no-such-program-mmdbg", [], timeout: 5)
        }
        do {
            _ = try ChildProcess.run("/bin/true", [], timeout: 5, currentDirectory: "/no/such/directory")
            Issue.record("ran in a missing directory")
        } catch {
            #expect(error.description.hasPrefix("could not start true: no directory /no/such/directory"))
        }
    }
}
