import Foundation
import Testing

extension SystemTests {
    /// What `help` and `--help` promise works: every example of every command
    /// runs on the real kernel, and every subcommand's `--help` reads well.
    @Suite("mmdbg help: examples run, --help reads well")
    struct HelpExamplesTests {
        /// Commands whose examples move or end the target: they run after QEMU
        /// has been told to quit, where they still tokenize, resolve and validate
        /// their arguments (what this test is about) but neither change the stop
        /// the other examples run at nor wait for their deadlines.
        /// Time travel needs a replay (`mmdbg replay --debug`): on the launched kernel those examples
        /// are refused with one line, which is what they are checked for here.
        static let drivingCommands: Set = ["continue", "stepi", "nexti", "step", "next", "until", "advance", "finish", "interrupt", "go", "expect", "run", "quit",
                                           "reverse-continue", "reverse-stepi", "reverse-step", "reverse-next",
                                           "reverse-finish", "last-write", "pte-history"]
        /// Skipped: its examples name a fixed port and a socket path, which could
        /// be someone else's QEMU on this machine.
        static let skippedCommands: Set = ["attach"]

        @Test func everyHelpExampleRunsOnTheRealKernel() throws {
            let overview = try MmdbgBinary.run(["--json", "-ex", "help"])
            try #require(overview.status == 0, "stderr: \(overview.stderr)")
            let names = try #require(try overview.jsonDocuments().first?.result?.array("commands")).compactMap { $0.string("name") }
            try #require(names.count > 30, "the registry lists every command: \(names)")
            let helps = try MmdbgBinary.run(["--json"] + names.flatMap { ["-ex", "help \($0)"] })
            try #require(helps.status == 0, "stderr: \(helps.stderr)")
            var examples: [(command: String, line: String)] = []
            for document in try helps.jsonDocuments() {
                let result = try #require(document.result)
                let name = try #require(result.string("name"))
                for case let line as String in result["examples"] as? [Any] ?? [] { examples.append((name, line)) }
            }
            #expect(Set(examples.map(\.command)).isSuperset(of: ["x", "sym", "break", "vtop", "monitor", "tasks", "expect", "inject"]))

            // Inside double quotes the language keeps only \" \\ \n \t as escapes and drops any other
            // backslash: `expect uart "\[KERN\]"` would silently become the character class [KERN].
            for example in examples {
                #expect(Self.droppedEscape(in: example.line) == nil,
                        "`help \(example.command)` example `\(example.line)` loses a backslash in double quotes: use single quotes")
            }

            let live = examples.filter { !Self.drivingCommands.contains($0.command) && !Self.skippedCommands.contains($0.command) }
            // Driving examples last, `quit` at the very end (it ends the session).
            let driving = examples.filter { Self.drivingCommands.contains($0.command) }
                .sorted { ($0.command == "quit" ? 1 : 0) < ($1.command == "quit" ? 1 : 0) }
            // Inside fork, below sys_fork: deep enough for `frame 2`, `up`, `up 2` in a row.
            let setup = ["break copy_process", "continue"]
            let lines = setup + live.map(\.line) + ["monitor quit"] + driving.map(\.line)
            #expect(live.count > 40 && driving.count > 10, "\(live.count) live and \(driving.count) driving examples")
            let run = try MmdbgBinary.run(["--json"] + lines.flatMap { ["-ex", $0] }, timeout: 120)
            let docs = try run.jsonDocuments()
            try #require(docs.count == lines.count, "one document per line; stderr: \(run.stderr)")
            let stopped = docs.prefix(setup.count).allSatisfy { $0.ok }
            try #require(stopped, "stopped in copy_process: \(run.stderr)")
            // On the live kernel every example works, not merely parses.
            for (example, document) in zip(live, docs.dropFirst(setup.count)) {
                #expect(document.ok, "`help \(example.command)` example `\(example.line)` fails: \(document.string("error") ?? "")")
            }
            for (example, document) in zip(driving, docs.suffix(driving.count)) where !document.ok {
                let error = document.string("error") ?? ""
                #expect(!Self.isLanguageError(error), "`help \(example.command)` example `\(example.line)` is refused: \(error)")
            }
        }

        /// The first backslash escape inside double quotes that the tokenizer would drop, if any.
        static func droppedEscape(in line: String) -> String? {
            var inDouble = false, inSingle = false
            var characters = line.makeIterator()
            while let c = characters.next() {
                if inSingle { inSingle = c != "'"; continue }
                if !inDouble { inSingle = c == "'"; inDouble = c == "\""; continue }
                if c == "\"" { inDouble = false; continue }
                if c == "\\" {
                    guard let next = characters.next() else { return "\\" }
                    if !"\"\\nt".contains(next) { return "\\\(next)" }
                }
            }
            return nil
        }

        /// An error that says the LINE is wrong (not the target's state): usage,
        /// unknown command, bad number, unknown symbol or register, syntax, or
        /// QEMU rejecting a monitor command.
        static func isLanguageError(_ error: String) -> Bool {
            error.contains("; usage: ") || error.hasPrefix("unknown command") || error.hasPrefix("bad number")
                || error.hasPrefix("no symbol \"") || error.hasPrefix("no register") || error.hasPrefix("syntax error")
                || error.contains("QEMU rejected")
        }

        @Test func theExampleCheckersKnowEachKind() {
            #expect(Self.isLanguageError(#"unknown option --json; usage: tasks"#))
            #expect(Self.isLanguageError(#"unknown command "frob" (type `help` for the list)"#))
            #expect(Self.isLanguageError(#"bad number "0x1g" (use decimal, 0x hex, 0b binary or 0o octal)"#))
            #expect(Self.isLanguageError(#"no symbol "nope" in the ELF"#))
            #expect(!Self.isLanguageError("QEMU exited (no longer running); `uart` shows its last output"))
            #expect(!Self.isLanguageError("no symbol contains 0x50000000"))
            #expect(Self.droppedEscape(in: #"expect uart "\[KERN\] OOM" --within 10"#) == #"\["#)
            #expect(Self.droppedEscape(in: #"expect uart '\[KERN\] OOM' --within 10"#) == nil)
            #expect(Self.droppedEscape(in: #"echo "a \"b\" \\ \n""#) == nil)
        }

        /// Every subcommand's --help at 80 columns: prose is wrapped by the
        /// parser, not broken by hand-written newlines, and no default is shown twice.
        @Test func everySubcommandsHelpWrapsCleanlyAndStatesDefaultsOnce() throws {
            for subcommand in [[], ["launch"], ["attach"], ["run"], ["replay"], ["sweep"]] {
                let run = try MmdbgBinary.run(subcommand + ["--help"], environment: ["COLUMNS": "80"])
                #expect(run.status == 0, "\(subcommand): \(run.stderr)")
                let lines = run.stdout.components(separatedBy: "\n")
                #expect(lines.count > 5, "\(subcommand): \(run.stdout)")
                for (i, line) in lines.enumerated() {
                    #expect(line.components(separatedBy: "(default:").count <= 2, "\(subcommand): default shown twice: \(line)")
                    // A prose line (not indented, not the USAGE line) followed by more of its
                    // paragraph must fill most of the width: a short one is a hand-made break.
                    guard i + 1 < lines.count, !line.isEmpty, !line.hasPrefix(" "), !line.hasPrefix("USAGE:"), !lines[i + 1].isEmpty,
                          !lines[i + 1].hasPrefix(" ") else { continue }
                    #expect(line.count >= 40, "\(subcommand): prose broken early at \"\(line)\" before \"\(lines[i + 1])\"")
                }
                // An option's help and its continuation lines form one text: one default at most.
                var option = ""
                for line in lines + ["  -"] {
                    if line.hasPrefix("  -") || line.isEmpty {
                        #expect(option.components(separatedBy: "(default:").count <= 2, "\(subcommand): \(option)")
                        option = line
                    } else {
                        option += " " + line.trimmingCharacters(in: .whitespaces)
                    }
                }
            }
        }
    }
}
