/// The memory source a session reads a QEMU target through: physical reads
/// that lie entirely in guest RAM go to a direct source (a mapped RAM file or
/// process_vm_readv) while the target is stopped; everything else goes to the
/// stub source unchanged: MMIO and other non-RAM physical ranges, virtual
/// reads (the stub translates them), every read while the target runs (the
/// stub refuses those itself), and every write (QEMU must see writes to
/// invalidate translated code).
///
/// The owner reports run state: `targetResumed()` before it resumes the
/// target (continue, step, reverse…), `targetStopped()` once a stop reply has
/// arrived. As a second guard, a direct read also needs `stubIsStopped()`
/// (the selector wires it to the client's connection state). A direct source
/// that fails (QEMU gone) is dropped for good, with the reason in
/// `fallbackReason`, and that batch and later ones go to the stub.
///
/// | state                  | physical in RAM | physical elsewhere | virtual | write |
/// |------------------------|-----------------|--------------------|---------|-------|
/// | stopped, direct source | direct          | stub               | stub    | stub  |
/// | running                | stub            | stub               | stub    | stub  |
/// | no direct source       | stub            | stub               | stub    | stub  |
public final class DirectPhysicalMemorySource: WritableMemorySource, PhysicalScopedMemorySource {
    /// The stub source (normally `GdbMemorySource`).
    public let stub: any WritableMemorySource
    /// The direct source in use; nil when reads all go to the stub.
    public private(set) var direct: (any DirectRAMSource)?
    /// Why reads do not go direct, or why a better path was passed over; nil when nothing went wrong.
    public private(set) var fallbackReason: String?
    /// Batches (or parts of batches) served directly, and sent to the stub.
    public private(set) var directBatches = 0
    public private(set) var stubBatches = 0

    private var ownerSaysStopped: Bool
    private let stubIsStopped: () -> Bool
    private var physicalScopeDepth = 0

    /// `targetIsStopped`: the run state now (later changes through `targetStopped()`/`targetResumed()`).
    public init(stub: any WritableMemorySource, direct: (any DirectRAMSource)?, fallbackReason: String? = nil,
                targetIsStopped: Bool, stubIsStopped: @escaping () -> Bool = { true }) {
        self.stub = stub
        self.direct = direct
        self.fallbackReason = fallbackReason
        self.ownerSaysStopped = targetIsStopped
        self.stubIsStopped = stubIsStopped
    }

    /// How reads of guest RAM are served: `direct (mmap)`, `direct (process_vm_readv)` or `gdbstub`.
    public var path: String { direct?.pathDescription ?? "gdbstub" }

    /// One line for `status`: the path, and the reason when it is not the best one.
    public var statusLine: String {
        guard let fallbackReason else { return "memory: \(path)" }
        return "memory: \(path) (\(fallbackReason))"
    }

    /// Whether a read now would go direct.
    public var readsDirectly: Bool { direct != nil && ownerSaysStopped && stubIsStopped() }

    /// The target has stopped (a stop reply arrived): RAM may be read directly.
    public func targetStopped() { ownerSaysStopped = true }
    /// The target is about to run: call BEFORE resuming; reads go to the stub until `targetStopped()`.
    public func targetResumed() { ownerSaysStopped = false }

    public func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        try readEach(ranges).allBytes()
    }

    public func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>] {
        guard let direct, readsDirectly else {
            stubBatches += 1
            return try stub.readEach(ranges)
        }
        var directIndices: [Int] = [], stubIndices: [Int] = []
        var results = [Result<[UInt8], MemoryError>](repeating: .success([]), count: ranges.count)
        for (i, range) in ranges.enumerated() {
            if range.space == .virtual && physicalScopeDepth > 0 {
                // Same rule as the stub's scope: addresses inside it are physical.
                results[i] = .failure(.unreadable(range, reason: "virtual read inside a physical-memory scope"))
            } else if range.space == .physical && range.length > 0 && direct.layout.covers(address: range.address, length: range.length) {
                directIndices.append(i)
            } else {
                stubIndices.append(i)
            }
        }
        if !directIndices.isEmpty {
            do throws(MemoryError) {
                let bytes = try direct.read(directIndices.map { ranges[$0] })
                for (i, value) in zip(directIndices, bytes) { results[i] = .success(value) }
                directBatches += 1
            } catch {
                // The direct path is broken (QEMU gone, layout stale): stop using it; the stub decides.
                self.direct = nil
                fallbackReason = "\(direct.pathDescription) failed: \(error); using the gdbstub"
                stubIndices = (stubIndices + directIndices).sorted()
            }
        }
        if !stubIndices.isEmpty {
            stubBatches += 1
            for (i, result) in zip(stubIndices, try stub.readEach(stubIndices.map { ranges[$0] })) { results[i] = result }
        }
        return results
    }

    /// Writes always go through the stub.
    public func write(_ bytes: [UInt8], to address: UInt64, in space: AddressSpace) throws(MemoryError) {
        try stub.write(bytes, to: address, in: space)
    }

    /// A physical-memory scope. Reading directly needs no mode switch, so while
    /// direct reads are possible the stub's mode is left alone (a stub read of
    /// a non-RAM physical range then switches the mode around that batch);
    /// otherwise the stub's own scope is entered once, as before.
    public func withPhysicalMode<T, Failure: MemoryFailureCarrying>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        if !readsDirectly, let scoped = stub as? any PhysicalScopedMemorySource {
            return try scoped.withPhysicalMode(body)
        }
        physicalScopeDepth += 1
        defer { physicalScopeDepth -= 1 }
        return try body()
    }
}
