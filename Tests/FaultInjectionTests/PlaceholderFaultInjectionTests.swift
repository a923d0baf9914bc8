import Testing

// Replaced by the tests of the FaultInjection issue.
@Test func FaultInjectionTestsTargetBuilds() { #expect(1 + 1 == 2) }
