import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a PID still names a live process (a zombie left for a non-reaping
/// init counts as gone: it runs nothing and holds no port).
func isAlive(_ pid: Int32) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// The command line of `pid`, NUL separators as spaces ("" when gone).
func commandLine(of pid: Int32) -> String {
    let data = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
    return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
}

/// Polls until `condition` holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
