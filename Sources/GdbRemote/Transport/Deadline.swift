#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point on the monotonic clock after which a wait gives up.
public struct Deadline: Sendable, Comparable {
    /// Nanoseconds on CLOCK_MONOTONIC.
    public let uptimeNanoseconds: UInt64

    /// A deadline at an absolute monotonic time.
    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    /// Now plus `seconds` (negative or NaN counts as zero).
    public static func after(seconds: Double) -> Deadline {
        let ns = seconds.isFinite && seconds > 0 ? UInt64(min(seconds, 1e9) * 1e9) : 0
        return Deadline(uptimeNanoseconds: now() &+ ns)
    }

    /// The current monotonic time in nanoseconds.
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Seconds left (0 when passed).
    public var remainingSeconds: Double {
        let now = Deadline.now()
        return now >= uptimeNanoseconds ? 0 : Double(uptimeNanoseconds - now) / 1e9
    }

    /// Milliseconds left, rounded up, for poll(); 0 when passed.
    public var remainingMillisecondsForPoll: Int32 {
        let now = Deadline.now()
        if now >= uptimeNanoseconds { return 0 }
        return Int32(min((uptimeNanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    /// True once the deadline is reached.
    public var hasPassed: Bool { Deadline.now() >= uptimeNanoseconds }

    /// The earlier of two deadlines.
    public func earlier(_ other: Deadline) -> Deadline { self < other ? self : other }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.uptimeNanoseconds < b.uptimeNanoseconds }
}
