/// What TAB offers at the prompt: command names first, then each argument by
/// the kind its command (or the option before it) declares. Pure logic over
/// the session, so it is tested without a terminal; the prompt only feeds it.
public enum CompletionEngine {
    /// Candidates for the word `text`, given the line before it; nil means
    /// "complete a file name" (left to readline).
    public static func candidates(for text: String, lineBeforeWord: String, session: Session) -> [String]? {
        let words = lineBeforeWord.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let commandName = words.first else {
            return session.registry.allNames.filter { $0.hasPrefix(text) }
        }
        guard let spec = session.registry.lookup(commandName) else { return [] }
        if text.hasPrefix("--") {
            return spec.options.map { "--" + $0.name }.filter { $0.hasPrefix(text) }
        }
        let arguments = Array(words.dropFirst())
        let kind: CompletionKind
        if let previous = arguments.last, previous.hasPrefix("--"), !previous.contains("="),
           let option = spec.options.first(where: { "--" + $0.name == previous }), option.valueName != nil {
            kind = option.completion
        } else {
            kind = spec.completion(forArgument: positionalCount(arguments, spec: spec))
        }
        guard let pool = pool(kind, text: text, session: session) else { return nil }
        return Array(Set(pool.filter { $0.hasPrefix(text) })).sorted()
    }

    /// Positionals before the cursor: words that are not options, option values or formats.
    private static func positionalCount(_ arguments: [String], spec: CommandSpec) -> Int {
        var count = 0
        var skipValue = false
        for word in arguments {
            if skipValue { skipValue = false; continue }
            if word.hasPrefix("--") {
                let name = String(word.dropFirst(2))
                skipValue = spec.options.contains { $0.name == name && $0.valueName != nil }
                continue
            }
            if word.hasPrefix("/") { continue }
            count += 1
        }
        return count
    }

    private static func pool(_ kind: CompletionKind, text: String, session: Session) -> [String]? {
        switch kind {
        case .none: return []
        case .command: return session.registry.allNames
        case .symbol: return (session.symbols?.names ?? []) + localNames(session)
        case .register: return registerNames(session)
        case .address:
            return text.hasPrefix("$") ? registerNames(session).map { "$" + $0 } : (session.symbols?.names ?? []) + localNames(session)
        case .location:
            if text.hasPrefix("$") { return pool(.address, text: text, session: session) }
            return (session.symbols?.names ?? []) + sourceFileCompletions(text, session)
        case .taskID:
            guard case .stopped = session.state, let ids = try? session.kernelViews.taskIDs() else { return [] }
            return ids.map(String.init)
        case .keywords(let words): return words
        case .oneOf(let kinds): return kinds.flatMap { pool($0, text: text, session: session) ?? [] }
        case .file: return nil
        }
    }

    /// The selected frame's parameters and locals, when the target is stopped and the ELF has DWARF.
    private static func localNames(_ session: Session) -> [String] {
        guard session.symbols != nil, session.target != nil, case .stopped = session.state,
              let variables = try? session.frameVariables(for: "completion") else { return [] }
        return variables.map(\.name)
    }

    /// Source files as `File.swift:` (or the path typed so far, when it has a `/`), from the
    /// line tables; none when the ELF has no DWARF or none is loaded.
    private static func sourceFileCompletions(_ text: String, _ session: Session) -> [String] {
        guard session.symbols != nil, let info = try? session.debugInfo(for: "completion"), info.hasDebugInfo,
              let files = try? info.sourceFiles() else { return [] }
        return files.filter { !$0.hasSuffix(">") }.map { file in
            let shown = SourcePaths.display(file)
            if text.contains("/") { return shown + ":" }
            return (shown.split(separator: "/").last.map(String.init) ?? shown) + ":"
        }
    }

    private static func registerNames(_ session: Session) -> [String] {
        if let names = session.target?.registerNames, !names.isEmpty { return names }
        return RegisterCommands.coreRegisters
    }
}
