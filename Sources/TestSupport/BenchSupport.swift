import Foundation
import GdbRemote
#if canImport(Glibc)
import Glibc
#endif

/// What the benchmarks (gdbremote-bench, inspect-bench, memory-bench) share:
/// command-line options, medians, timing, and gdb-multiarch's memory dump
/// as the reference. Benchmarks are not tests; they print, side by side.
public enum Bench {
    /// A benchmark that cannot go on: one line.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The value after `--name` on the command line.
    public static func option(_ name: String) -> String? {
        let args = CommandLine.arguments
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    /// The middle value (the upper middle of an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// Monotonic seconds.
    public static func now() -> Double { Double(Deadline.now()) / 1e9 }

    /// The body's value and how long it took.
    public static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = now()
        let value = try body()
        return (value, now() - start)
    }

    /// Times gdb-multiarch's `dump binary memory` inside gdb (its start-up and
    /// connection excluded) on QEMU's stub at `port`; `physical` switches QEMU's
    /// physical-memory mode around it (`maint packet Qqemu.PhyMemMode`).
    public static func gdbDump(gdb: String, port: Int, from address: UInt64, count: Int, to path: String,
                               physical: Bool, deadline seconds: Double = 600) throws -> Double {
        let end = address + UInt64(count)
        var arguments = ["-batch", "-nx", "-ex", "set architecture aarch64", "-ex", "target remote 127.0.0.1:\(port)"]
        if physical { arguments += ["-ex", "maint packet Qqemu.PhyMemMode:1"] }
        arguments += ["-ex", "python import time; t0 = time.monotonic()",
                      "-ex", "dump binary memory \(path) 0x\(String(address, radix: 16)) 0x\(String(end, radix: 16))",
                      "-ex", "python print('DUMP-SECONDS', time.monotonic() - t0)"]
        if physical { arguments += ["-ex", "maint packet Qqemu.PhyMemMode:0"] }
        arguments += ["-ex", "disconnect"]
        let result: ChildProcess.Result
        do { result = try ChildProcess.run(gdb, arguments, timeout: seconds) } catch {
            throw Failure(description: "gdb-multiarch: \(error)")
        }
        guard let line = result.combined.split(separator: "\n").first(where: { $0.hasPrefix("DUMP-SECONDS") }),
              let value = Double(line.split(separator: " ").last ?? "") else {
            throw Failure(description: "gdb-multiarch did not report its time: \(result.combined.suffix(400))")
        }
        return value
    }
}
