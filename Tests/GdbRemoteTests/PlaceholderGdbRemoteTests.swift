import Testing

// Replaced by the tests of the GdbRemote issue.
@Test func GdbRemoteTestsTargetBuilds() { #expect(1 + 1 == 2) }
