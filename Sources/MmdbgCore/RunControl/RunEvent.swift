/// The `event` of a run-control result: a fixed vocabulary a program can
/// switch on (the human text is `reason`). README "JSON output" lists it.
public enum RunEvent: String, Sendable, CaseIterable {
    /// Stopped at one of the session's breakpoints (`breakpoint` holds its ID).
    case breakpoint
    /// A watchpoint fired (`breakpoint` holds its ID when it is the session's).
    case watchpoint
    /// `stepi`/`step` did the steps asked for (`steps`).
    case step
    /// `finish`: the function returned.
    case returned
    /// Ctrl-C or `interrupt` stopped the target.
    case interrupted
    /// The `--timeout` deadline ran out and the target was interrupted (a failed command).
    case deadline
    /// `step --max N` ran out inside the same function (a failed command).
    case stepLimit = "step-limit"
    /// QEMU exited (`exitStatus`).
    case exited
    /// QEMU was killed by a signal (`signal`).
    case terminated
    /// The target stopped with a signal nothing here explains (`signal`).
    case signal
    /// A replay reached the start or the end of its recording (reverse execution has nothing further back).
    case recordingBoundary = "recording-boundary"
    /// Reverse execution stopped at a fault the debugger injected while recording: going further
    /// back would replay across a change that is not in QEMU's event log.
    case injection
    /// `continue --no-wait`: the target was left running.
    case running

    /// Events that mean the command did not get the stop it asked for.
    public var isFailure: Bool { self == .deadline || self == .stepLimit }
}
