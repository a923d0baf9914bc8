/// Which scenarios to run, from the kernel command line init receives:
/// `tests=brk,fork` runs those two, in that order; no `tests=` (or
/// `tests=all`) runs every default scenario; `smp` in the list stands for
/// the SMP scenarios (forkstorm, brkstorm, oomstorm, fork1000).
struct Selection {
    /// The comma-separated names after `tests=`, or nil for "all".
    let names: UnsafeRawBufferPointer?

    init(commandLine: UnsafeRawBufferPointer) {
        var found: UnsafeRawBufferPointer? = nil
        var start = 0
        while start < commandLine.count {
            var end = start
            while end < commandLine.count && commandLine[end] != 0x20 && commandLine[end] != 0 { end += 1 }
            let word = UnsafeRawBufferPointer(rebasing: commandLine[start..<end])
            if Selection.hasPrefix(word, "tests=") {
                found = UnsafeRawBufferPointer(rebasing: word[6...])
            }
            start = end + 1
        }
        if let value = found, Selection.equals(value, "all") || value.isEmpty { found = nil }
        names = found
    }

    /// Calls `body` with each selected name in order: a known scenario, or
    /// nil plus the unknown name as typed.
    func forEach(_ body: (Scenario?, UnsafeRawBufferPointer) -> Void) {
        guard let names else {
            for index in 0..<ScenarioTable.defaultCount {
                let scenario = ScenarioTable.scenario(at: index)!
                scenario.name.withUTF8Buffer { body(scenario, UnsafeRawBufferPointer($0)) }
            }
            return
        }
        var start = 0
        while start < names.count {
            var end = start
            while end < names.count && names[end] != 0x2C { end += 1 }  // ","
            let name = UnsafeRawBufferPointer(rebasing: names[start..<end])
            if Selection.equals(name, "smp") {
                for index in ScenarioTable.smpRange {
                    let scenario = ScenarioTable.scenario(at: index)!
                    scenario.name.withUTF8Buffer { body(scenario, UnsafeRawBufferPointer($0)) }
                }
            } else if !name.isEmpty {
                body(Selection.scenario(named: name), name)
            }
            start = end + 1
        }
    }

    private static func scenario(named name: UnsafeRawBufferPointer) -> Scenario? {
        for index in 0..<ScenarioTable.count {
            let scenario = ScenarioTable.scenario(at: index)!
            if equals(name, scenario.name) { return scenario }
        }
        return nil
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in
            expected.count == bytes.count && hasPrefix(bytes, text)
        }
    }

    private static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        prefix.withUTF8Buffer { expected in
            guard bytes.count >= expected.count else { return false }
            for i in 0..<expected.count where bytes[i] != expected[i] { return false }
            return true
        }
    }
}
