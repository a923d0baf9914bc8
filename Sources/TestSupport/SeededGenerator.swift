// Property tests draw their random inputs from the fault injector's seeded
// SplitMix64, so a failure names its seed and replays anywhere: one generator
// in the package, in its own leaf target (SeededRandom).
@_exported import struct SeededRandom.SeededGenerator
