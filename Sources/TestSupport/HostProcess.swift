import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What /proc says about a host process (tests check nothing outlives them).
public enum HostProcess {
    /// Whether `pid` names a live process. A zombie left for an init that does
    /// not reap (as in some containers) counts as gone: it runs nothing and
    /// holds no port.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// The command line of `pid`, NUL separators as spaces ("" when gone):
    /// check it before killing a PID that may have been recycled.
    public static func commandLine(of pid: Int32) -> String {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// CPU time (user + system, all threads) `pid` has used so far, in seconds;
    /// nil when it is gone. A QEMU whose guest runs burns CPU; one stopped at its
    /// gdbstub hardly any: tests wait on this instead of sleeping "long enough".
    public static func cpuSeconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "(comm)": state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Waits until `pid` has used `seconds` more CPU time than it had on entry,
    /// within `deadline` seconds of wall time; returns whether it did.
    public static func waitForCPUUse(of pid: Int32, seconds: Double, within deadline: Double) -> Bool {
        guard let start = cpuSeconds(of: pid) else { return false }
        return eventually(within: deadline) { (cpuSeconds(of: pid) ?? start) >= start + seconds }
    }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    public static func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
