// Writes the translation-table walker vectors shared by Inspect and gdb/mm_aarch64.py.
//
//     swift run gen-walker-vectors            # rewrite Tests/Vectors/translation/*.json
//     swift run gen-walker-vectors --check    # exit 1, naming each drifted file, if they differ
//
// Inputs and expected values come from TestSupport's WalkerVectors (Inspect's
// walker computes every expected value); InspectTests runs the same check.
import Foundation
import QEMULauncher
import TestSupport

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.isEmpty || arguments == ["--check"] else {
    FileHandle.standardError.write(Data("usage: gen-walker-vectors [--check]\n".utf8))
    exit(2)
}
guard let root = KernelImage.packageRoot() else {
    FileHandle.standardError.write(Data("gen-walker-vectors: run from the repository (or set MMDBG_ROOT)\n".utf8))
    exit(2)
}
do {
    if arguments == ["--check"] {
        let drift = try WalkerVectors.drift(root: root)
        guard drift.isEmpty else {
            print(drift.joined(separator: "\n"))
            FileHandle.standardError.write(Data("gen-walker-vectors: \(WalkerVectors.directory) drifted from Inspect: run `swift run gen-walker-vectors`\n".utf8))
            exit(1)
        }
    } else {
        try WalkerVectors.write(root: root)
        print("wrote \(WalkerVectors.all().count) vectors to \(WalkerVectors.directory)")
    }
} catch {
    FileHandle.standardError.write(Data("gen-walker-vectors: \(error)\n".utf8))
    exit(1)
}
