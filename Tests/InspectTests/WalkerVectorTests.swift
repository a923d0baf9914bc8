import Foundation
import Testing
import Inspect
import TestSupport

/// Tests/Vectors/translation: the walker vectors gdb/mm_aarch64.py is also checked on.
@Suite struct WalkerVectorTests {
    /// Fewer files than this means vectors went missing (the catalog has more).
    static let minimumVectors = 20

    /// The package root: this file is Tests/InspectTests/WalkerVectorTests.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var folder: URL { root.appendingPathComponent(WalkerVectors.directory) }

    /// The `gen-walker-vectors --check` of CI: the committed files are what the catalog and Inspect produce.
    @Test func theCommittedVectorsAreUpToDate() throws {
        let drift = try WalkerVectors.drift(root: Self.root)
        #expect(drift.isEmpty, "run `swift run gen-walker-vectors`:\n\(drift.joined(separator: "\n"))")
    }

    /// Every file's inputs, walked by Inspect, give every query's walk, address,
    /// attributes or fault and the dump's runs, problems and counts exactly as written.
    @Test func inspectsWalkerAnswersEveryVectorAsWritten() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".json") }.sorted()
        var checked = 0
        for file in files {
            let url = Self.folder.appendingPathComponent(file)
            let data = try Data(contentsOf: url)
            let input = try WalkerVectors.input(fromJSON: data, file: file)
            #expect(input.fileName == file, "\(file) names itself \(input.name)")
            #expect(!input.queries.isEmpty && !input.memory.isEmpty, "\(file) has no queries or no tables")
            let rendered = try WalkerVectors.render(input)
            let written = String(decoding: data, as: UTF8.self)
            if rendered != written {
                let line = zip(rendered.split(separator: "\n"), written.split(separator: "\n")).first { $0 != $1 }
                Issue.record("\(file): Inspect now answers\n  \(line.map { String($0.0) } ?? "(length differs)")\nwhere the file says\n  \(line.map { String($0.1) } ?? "")")
            }
            checked += 1
        }
        #expect(checked >= Self.minimumVectors, "only \(checked) vectors in \(Self.folder.path)")
        #expect(checked == files.count)
        #expect(checked == WalkerVectors.all().count, "the catalog has \(WalkerVectors.all().count) vectors, the folder \(checked)")
    }
}
