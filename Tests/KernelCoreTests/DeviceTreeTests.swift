import Testing
@testable import KernelCore

@Suite("Device tree and command line") struct DeviceTreeTests {
    private func withTree<R>(_ blob: [UInt8], _ body: (FlattenedDeviceTree?) throws -> R) rethrows -> R {
        try blob.withUnsafeBytes { try body(FlattenedDeviceTree(at: $0.baseAddress!)) }
    }

    private func string(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func readsRamBootargsAndPsciFromAVirtLikeTree() throws {
        let blob = FlattenedDeviceTreeBuilder.virtLike(ramSize: 256 << 20, bootargs: "linear=pages tests=brk,fork")
        try withTree(blob) { tree in
            let tree = try #require(tree)
            #expect(tree.blob.count == blob.count)
            let info = tree.bootHardwareInfo()
            #expect(info.ramBase == 0x4000_0000)
            #expect(info.ramSize == 256 << 20)
            #expect(info.psci == .hvc)
            #expect(string(info.commandLine.bytes) == "linear=pages tests=brk,fork")
        }
    }

    @Test func missingBootargsGiveAnEmptyCommandLine() throws {
        try withTree(FlattenedDeviceTreeBuilder.virtLike(psciMethod: "smc")) { tree in
            let info = try #require(tree).bootHardwareInfo()
            #expect(info.commandLine.bytes.count == 0)
            #expect(info.psci == .smc)
        }
    }

    @Test func largeRamUsesBothCells() throws {
        try withTree(FlattenedDeviceTreeBuilder.virtLike(ramBase: 0x1_0000_0000, ramSize: 0x2_0000_0000)) { tree in
            let info = try #require(tree).bootHardwareInfo()
            #expect(info.ramBase == 0x1_0000_0000)
            #expect(info.ramSize == 0x2_0000_0000)
        }
    }

    @Test func rejectsWhatIsNotADeviceTree() {
        var blob = FlattenedDeviceTreeBuilder.virtLike()
        blob[0] = 0
        withTree(blob) { #expect($0 == nil, "bad magic") }

        var b = FlattenedDeviceTreeBuilder()
        b.beginNode(""); b.endNode()
        withTree(b.blob(lastCompatibleVersion: 2)) { #expect($0 == nil, "pre-v16 layout") }

        var truncated = FlattenedDeviceTreeBuilder.virtLike()
        truncated[4...7] = [0, 0, 0, 60] // totalsize ends inside the structure block
        withTree(truncated) { #expect($0 == nil, "blocks outside totalsize") }
    }

    @Test func malformedStructureStopsTheWalkSafely() throws {
        var blob = FlattenedDeviceTreeBuilder.virtLike(bootargs: "x")
        // Corrupt the first property's name offset to point past the strings block.
        let structOffset = Int(blob[8]) << 24 | Int(blob[9]) << 16 | Int(blob[10]) << 8 | Int(blob[11])
        blob[structOffset + 8 + 8 ..< structOffset + 8 + 12] = [0x7F, 0xFF, 0xFF, 0xFF]
        try withTree(blob) { tree in
            var visited = 0
            try #require(tree).forEachProperty { _, _, _, _ in visited += 1 }
            #expect(visited == 0)
            #expect(try #require(tree).bootHardwareInfo().ramSize == 0)
        }
    }

    @Test func commandLineWordsFlagsAndValues() {
        let text = Array("  linear=pages\ttests=brk,fork quiet tests=wild \n".utf8)
        text.withUnsafeBytes { bytes in
            let line = KernelCommandLine(bytes)
            var words: [String] = []
            line.forEachWord { words.append(string($0)) }
            #expect(words == ["linear=pages", "tests=brk,fork", "quiet", "tests=wild"])
            #expect(line.has("linear", equalTo: "pages"))
            #expect(!line.has("linear", equalTo: "page"))
            #expect(line.value(of: "tests").map(string) == "wild", "the last value wins")
            #expect(line.value(of: "test") == nil)
            #expect(line.value(of: "quiet") == nil)
            #expect(line.contains("quiet"))
            #expect(!line.contains("linear"))
        }
        #expect(KernelCommandLine.empty.value(of: "linear") == nil)
        Array("a=1\0b=2".utf8).withUnsafeBytes { #expect(string(KernelCommandLine($0).bytes) == "a=1") }
    }
}
