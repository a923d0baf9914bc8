import CProcessMemory
#if canImport(Glibc)
import Glibc
#endif

/// Guest RAM from QEMU's RAM backing file (`memory-backend-file,share=on`),
/// mapped read-only: a physical read inside RAM is a memcpy. TCG writes guest
/// RAM directly, so the mapping is coherent with the guest once its vCPUs are
/// stopped; while they run it is not a consistent view (the composite source
/// never reads it then). Writes never go here: QEMU must see them.
public final class MappedRAMMemorySource: DirectRAMSource {
    public let layout: GuestRAMLayout
    public var pathDescription: String { "direct (mmap)" }
    public let scratch = DirectReadScratch()
    private let base: UnsafeRawPointer
    private let mappedSize: Int
    private let liveness: ProcessLiveness?

    /// Maps `size` bytes of `descriptor` (the descriptor may be closed afterwards).
    /// `layout` gives file offsets as backing addresses; every region must lie
    /// inside the file. `qemuPID`, when known, makes reads fail once that QEMU
    /// has exited instead of returning its last RAM contents.
    public init(descriptor: Int32, size: UInt64, layout: GuestRAMLayout, qemuPID: Int32? = nil) throws(MemoryError) {
        guard size > 0, size <= UInt64(Int.max) else { throw .transport("RAM file size \(size) cannot be mapped") }
        for region in layout.regions where region.backingAddress.addingReportingOverflow(region.size).partialValue > size
            || region.backingAddress.addingReportingOverflow(region.size).overflow {
            throw .transport("RAM region \(region) lies beyond the end of the \(size)-byte RAM file")
        }
        let mapped = mmap(nil, Int(size), PROT_READ, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw .transport("mmap of the RAM file (\(size) bytes): \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(mapped)
        self.mappedSize = Int(size)
        self.layout = layout
        self.liveness = qemuPID.flatMap { ProcessLiveness(pid: $0) }
    }

    /// Maps the file at `path` (`--ram-file`).
    public convenience init(path: String, layout: GuestRAMLayout, qemuPID: Int32? = nil) throws(MemoryError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .transport("cannot open RAM file \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > 0 else { throw .transport("RAM file \(path) is empty or unreadable") }
        try self.init(descriptor: descriptor, size: UInt64(status.st_size), layout: layout, qemuPID: qemuPID)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedSize) }

    public func copy(_ pieces: [GuestRAMLayout.Piece], into buffers: [UnsafeMutableRawBufferPointer]) throws(MemoryError) {
        if let liveness, let reason = liveness.exitReason() { throw .transport(reason) }
        for (piece, buffer) in zip(pieces, buffers) {
            buffer.baseAddress!.copyMemory(from: base + Int(piece.backingAddress), byteCount: piece.length)
        }
    }
}

/// Whether a process (QEMU) is still alive, pinned by a pidfd so a reused PID
/// cannot pass for it; one non-blocking poll per check.
final class ProcessLiveness {
    let pid: Int32
    private let pidfd: Int32

    init?(pid: Int32) {
        let fd = mmdbg_pidfd_open(pid)
        guard fd >= 0 else { return nil }
        self.pid = pid
        self.pidfd = fd
    }

    deinit { close(pidfd) }

    /// nil while it runs; a one-line reason once it has exited.
    func exitReason() -> String? {
        mmdbg_pidfd_exited(pidfd) == 0 ? nil : "QEMU (pid \(pid)) has exited"
    }
}
