/// Why the target stopped, parsed from a `S`/`T`/`W`/`X` stop reply.
public struct StopReason: Equatable, Sendable, CustomStringConvertible {
    /// What kind of stop.
    public enum Kind: Equatable, Sendable {
        /// Stopped with a signal (5 = SIGTRAP for breakpoints/steps, 2 = SIGINT after an interrupt).
        case signal(UInt8)
        /// The process exited with this status (`W`).
        case exited(status: UInt8)
        /// The process was terminated by this signal (`X`).
        case terminated(signal: UInt8)
    }

    /// A watchpoint that triggered (`watch:`, `rwatch:`, `awatch:`).
    public struct WatchpointHit: Equatable, Sendable {
        public var kind: BreakpointKind
        public var address: UInt64
    }

    /// An edge of the recording a replaying stub reached (`replaylog:begin` / `replaylog:end`).
    public enum ReplayBoundary: String, Equatable, Sendable {
        case begin
        case end
    }

    public var kind: Kind
    /// Set when a replay ran into the start or end of its recording: gdb's `replaylog:` stop
    /// field, or (QEMU 7.2 sends no such field) what the client concluded from a reverse
    /// command answered with `E14` (nothing to go back to) or with a SIGINT nobody asked for.
    public var replayBoundary: ReplayBoundary?
    /// The thread that stopped (`thread:`), if reported.
    public var thread: ThreadID?
    /// The watchpoint that triggered, if any.
    public var watchpoint: WatchpointHit?
    /// `swbreak` / `hwbreak` was reported.
    public var isBreakpoint: Bool
    /// Every `name:value` pair, in order (registers included, when a stub sends them).
    public var fields: [(name: String, value: String)]

    /// Breakpoints, watchpoints and single steps.
    public static let sigtrap: UInt8 = 5
    /// An interrupt (0x03).
    public static let sigint: UInt8 = 2

    /// Parses a stop reply body; nil if it is not one.
    public init?(packet body: [UInt8]) {
        guard StopReplyShape.matches(body) else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        let code = UInt8(Hex.number(text.dropFirst().prefix(2)) ?? 0)
        thread = nil
        watchpoint = nil
        isBreakpoint = false
        replayBoundary = nil
        fields = []
        switch body[0] {
        case UInt8(ascii: "W"), UInt8(ascii: "X"):
            let number = text.dropFirst().prefix { $0 != ";" }
            let value = UInt8(truncatingIfNeeded: Hex.number(number) ?? 0)
            kind = body[0] == UInt8(ascii: "W") ? .exited(status: value) : .terminated(signal: value)
            return
        case UInt8(ascii: "S"):
            kind = .signal(code)
        default:
            kind = .signal(code)
            for pair in text.dropFirst(3).split(separator: ";") {
                guard let colon = pair.firstIndex(of: ":") else {
                    fields.append((String(pair), ""))
                    continue
                }
                let name = String(pair[..<colon]), value = pair[pair.index(after: colon)...]
                fields.append((name, String(value)))
                switch name {
                case "thread": thread = ThreadID(parsing: value)
                case "watch", "rwatch", "awatch":
                    let kind: BreakpointKind = name == "watch" ? .writeWatchpoint : name == "rwatch" ? .readWatchpoint : .accessWatchpoint
                    if let address = Hex.number(value) { watchpoint = WatchpointHit(kind: kind, address: address) }
                case "swbreak", "hwbreak": isBreakpoint = true
                case "replaylog": replayBoundary = ReplayBoundary(rawValue: String(value))
                default: break
                }
            }
        }
    }

    /// A stop built by hand (tests, or a client that knows why it stopped).
    public init(kind: Kind, thread: ThreadID? = nil, watchpoint: WatchpointHit? = nil,
                replayBoundary: ReplayBoundary? = nil) {
        self.kind = kind
        self.thread = thread
        self.watchpoint = watchpoint
        self.replayBoundary = replayBoundary
        self.isBreakpoint = false
        self.fields = []
    }

    /// The signal, for `.signal` stops.
    public var signal: UInt8? {
        if case .signal(let s) = kind { return s }
        return nil
    }

    /// True when the process is gone.
    public var hasExited: Bool {
        if case .signal = kind { return false }
        return true
    }

    public static func == (a: StopReason, b: StopReason) -> Bool {
        a.kind == b.kind && a.thread == b.thread && a.watchpoint == b.watchpoint && a.isBreakpoint == b.isBreakpoint
            && a.replayBoundary == b.replayBoundary
    }

    public var description: String {
        switch kind {
        case .exited(let status): return "exited with status \(status)"
        case .terminated(let signal): return "terminated by signal \(signal)"
        case .signal(let signal):
            var text = signal == StopReason.sigtrap ? "stopped (SIGTRAP)" : signal == StopReason.sigint ? "stopped (SIGINT)" : "stopped (signal \(signal))"
            if let replayBoundary { text += " at the \(replayBoundary == .begin ? "start" : "end") of the recording" }
            if let watchpoint { text += " by \(watchpoint.kind) at 0x\(String(watchpoint.address, radix: 16))" }
            if let thread { text += " in thread \(thread)" }
            return text
        }
    }
}
