import Testing

// Replaced by the tests of the Inspect issue.
@Test func InspectTestsTargetBuilds() { #expect(1 + 1 == 2) }
