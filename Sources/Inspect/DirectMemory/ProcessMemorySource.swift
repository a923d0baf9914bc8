import CProcessMemory
#if canImport(Glibc)
import Glibc
#endif

/// Guest RAM read out of a running QEMU's own address space with
/// `process_vm_readv` (needs ptrace permission over it: our child, the same
/// user under Yama scope 0 or 1 for descendants, or root). The layout maps
/// guest-physical regions to QEMU's host virtual addresses (`gpa2hva`).
/// Works for any local QEMU, shared RAM file or not; a whole batch is one
/// system call (up to IOV_MAX pieces per call).
public final class ProcessMemorySource: DirectRAMSource {
    public let layout: GuestRAMLayout
    public let pid: Int32
    public var pathDescription: String { "direct (process_vm_readv)" }
    public let scratch = DirectReadScratch()
    private let liveness: ProcessLiveness?

    /// Reads QEMU `pid`'s memory; `layout` gives host virtual addresses as backing addresses.
    public init(pid: Int32, layout: GuestRAMLayout) {
        self.pid = pid
        self.layout = layout
        self.liveness = ProcessLiveness(pid: pid)
    }

    public func copy(_ pieces: [GuestRAMLayout.Piece], into buffers: [UnsafeMutableRawBufferPointer]) throws(MemoryError) {
        guard !pieces.isEmpty else { return }
        if let liveness, let reason = liveness.exitReason() { throw .transport(reason) }
        let remote = zip(pieces, buffers).map { piece, buffer in
            mmdbg_remote_piece(local: buffer.baseAddress, remote_address: piece.backingAddress, length: piece.length)
        }
        let expected = pieces.reduce(0) { $0 + $1.length }
        let got = remote.withUnsafeBufferPointer { mmdbg_read_process_memory(pid, $0.baseAddress, $0.count) }
        guard got == expected else {
            let reason = got < 0 ? String(cString: strerror(errno)) : "\(got) of \(expected) bytes"
            throw .transport("process_vm_readv from QEMU pid \(pid): \(reason)")
        }
    }
}
