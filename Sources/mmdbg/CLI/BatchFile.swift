import Foundation

/// A `--batch` script: a regular, readable UTF-8 text file of bounded size.
/// Checked before anything is launched, so `--batch /dev/zero` or a binary
/// file is a one-line error instead of a hang or a silently empty script.
enum BatchFile {
    /// Scripts are typed by people; anything bigger is a mistake.
    static let maxBytes = 16 << 20

    /// Why a batch file cannot be used (one line).
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The script's lines.
    static func lines(of path: String) throws(Problem) -> [String] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              FileManager.default.isReadableFile(atPath: path) else {
            throw Problem(description: "cannot read batch file \(path)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw Problem(description: "batch file \(path) is not a regular file")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else {
            throw Problem(description: "batch file \(path) is \(size) bytes; scripts are at most \(maxBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(description: "cannot read batch file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Problem(description: "batch file \(path) is not UTF-8 text")
        }
        return text.components(separatedBy: "\n")
    }
}
