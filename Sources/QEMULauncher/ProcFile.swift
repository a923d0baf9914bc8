import Foundation

/// Reads files under /proc. They report a size of 0, and
/// `String(contentsOfFile:)` then stops after its first chunk (about 4 KB):
/// /proc/net/tcp on a busy host, or a QEMU's maps, were cut short.
enum ProcFile {
    /// The whole file, read until end of file; nil when it cannot be opened.
    static func text(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
