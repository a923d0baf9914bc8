import Foundation
import QEMULauncher
import TestSupport

/// Runs the real built `mmdbg` executable through TestSupport's `ChildProcess`:
/// a deadline on every run, and on timeout the whole process GROUP is killed,
/// so the QEMU that mmdbg launched dies with it.
enum MmdbgBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The stdout lines parsed as JSON objects (for `--json` runs).
        func jsonDocuments() throws -> [[String: Any]] {
            try stdout.split(separator: "\n").map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw Failure(description: "not a JSON object: \(line)")
                }
                return object
            }
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The executable: `$MMDBG_BIN`, else next to the test bundle, else .build/debug/mmdbg.
    static func path() throws -> String { try BuiltProduct.path("mmdbg") }

    /// Runs mmdbg with `arguments`, feeding `stdin`; after `timeout` seconds its
    /// process group is killed and `ChildProcess.Failure.timedOut` thrown.
    static func run(_ arguments: [String], stdin: String? = nil, timeout: Double = 60,
                    environment: [String: String] = [:]) throws -> Run {
        _ = try Tools.kernelImage()
        // NO_COLOR stays unset: output to a pipe must be plain by itself.
        var variables: [String: String?] = ["NO_COLOR": String?.none]
        for (key, value) in environment { variables[key] = .some(value) }
        let result = try ChildProcess.run(try path(), arguments, stdin: stdin, timeout: timeout, environment: variables)
        return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
