import Testing

// Replaced by the tests of the Mmdbg issue.
@Test func MmdbgTestsTargetBuilds() { #expect(1 + 1 == 2) }
