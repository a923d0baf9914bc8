import Foundation

/// Small helpers to read `--json` documents in tests.
extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func string(_ key: String) -> String? { self[key] as? String }
    func array(_ key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
    /// A "0x…" string field as a number.
    func address(_ key: String) -> UInt64? {
        guard let text = self[key] as? String, text.hasPrefix("0x") else { return nil }
        return UInt64(text.dropFirst(2), radix: 16)
    }
    /// `result` of a command document.
    var result: [String: Any]? { object("result") }
    var ok: Bool { self["ok"] as? Bool == true }
}
