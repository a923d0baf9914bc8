import Testing

// Replaced by the tests of the GdbScripts issue.
@Test func GdbScriptsTestsTargetBuilds() { #expect(1 + 1 == 2) }
