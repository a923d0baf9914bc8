import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Guest RAM backed by a file the debugger can map (`-object memory-backend-file,
/// share=on`): while the vCPUs are stopped, physical reads are memcpy instead
/// of gdbstub round trips (docs: /work/shared/reference, "Shared guest RAM").
///
/// Lifetime. The launcher creates the file (exclusively, under a unique
/// `mmdbg-ram-<host pid>-<random>` name, in /dev/shm when it exists, else the
/// temporary directory), opens it read-only, and unlinks it as soon as QEMU
/// has mapped it, before `QEMUInstance.init` returns. From then on nothing is
/// left to clean up by name: the memory lives as long as QEMU's mapping and
/// this descriptor (and any mapping made from it), and the kernel frees it
/// when the last of them goes, however QEMU or this process ends. Only the
/// launch window (file created, QEMU not yet mapped) needs help: the path is
/// unlinked by `stop()`, by `LiveQEMUs` on exit or a fatal signal, and by the
/// `ParentDeathWatchdog` when this process is SIGKILLed.
public struct SharedGuestRAM: Sendable {
    /// Read-only, close-on-exec descriptor of the (unlinked) file; the launcher
    /// owns it and closes it in `QEMUInstance.stop()`. Map it before then.
    public let fileDescriptor: Int32
    /// The name the file had; already unlinked once `QEMUInstance.init` returns.
    public let path: String
    /// Bytes of guest RAM in the file (the `-m` size).
    public let size: UInt64
    /// The memory backend's id: the name of its region in `info mtree -f`, where
    /// the guest-physical addresses it covers are read (never assumed).
    public let backendID: String
    /// Where the machine places the start of RAM (`virt`: 0x40000000), as the
    /// launcher expects it; nil for machines it does not know. A hint: memory
    /// sources confirm the layout with the monitor before trusting it.
    public let expectedGuestPhysicalBase: UInt64?
}

/// The file behind `SharedGuestRAM` during one launch attempt.
final class SharedRAMFile: @unchecked Sendable {
    static let backendID = "mmdbg-ram"
    static let namePrefix = "mmdbg-ram-"

    let path: String
    let size: UInt64
    let machine: String
    private let lock = NSLock()
    private var descriptor: Int32
    private var linked = true

    /// Creates an empty file of a unique name (QEMU sizes it). Throws a one-line reason.
    init(size: UInt64, machine: String, directory: String = SharedRAMFile.defaultDirectory()) throws(QEMUError) {
        let name = "\(Self.namePrefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        let path = (directory as NSString).appendingPathComponent(name)
        let created = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard created >= 0 else {
            throw .launchFailed("could not create the shared RAM file \(path): \(String(cString: strerror(errno)))")
        }
        close(created)
        let readOnly = open(path, O_RDONLY | O_CLOEXEC)
        guard readOnly >= 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw .launchFailed("could not reopen the shared RAM file \(path): \(reason)")
        }
        self.path = path
        self.size = size
        self.machine = machine
        self.descriptor = readOnly
        LiveQEMUs.shared.addPendingFile(path)
    }

    deinit { closeDescriptor(); unlinkPath() }

    /// /dev/shm (RAM-backed, so the guest's RAM is not written to disk) when it is a writable directory.
    static func defaultDirectory() -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue,
           access("/dev/shm", W_OK | X_OK) == 0 {
            return "/dev/shm"
        }
        return FileManager.default.temporaryDirectory.path
    }

    /// The arguments that put guest RAM in this file: an `-object` and the machine's `memory-backend`.
    var objectArgument: String {
        "memory-backend-file,id=\(Self.backendID),size=\(size),mem-path=\(path),share=on"
    }

    /// The public description (valid until `closeDescriptor`).
    var exposed: SharedGuestRAM {
        let base: UInt64? = machine.split(separator: ",").first.map { $0.hasPrefix("virt") } == true ? 0x4000_0000 : nil
        return SharedGuestRAM(fileDescriptor: lock.withLock { descriptor }, path: path, size: size,
                              backendID: Self.backendID, expectedGuestPhysicalBase: base)
    }

    /// Waits until QEMU `pid` maps the file (it does so while creating the
    /// machine, before the gdbstub listens), or exits, or the deadline passes.
    /// Returns whether it was mapped.
    func waitUntilMapped(by process: Process, deadline seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        let maps = "/proc/\(process.processIdentifier)/maps"
        while Date() < deadline && process.isRunning {
            if let text = ProcFile.text(maps), text.contains(path) { return true }
            usleep(2_000)
        }
        return false
    }

    /// Removes the name (QEMU's mapping and our descriptor keep the memory). Idempotent.
    func unlinkPath() {
        lock.lock(); defer { lock.unlock() }
        guard linked else { return }
        linked = false
        unlink(path)
        LiveQEMUs.shared.removePendingFile(path)
    }

    /// Closes our descriptor (mappings made from it stay valid). Idempotent.
    func closeDescriptor() {
        lock.lock(); defer { lock.unlock() }
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
    }

    /// Bytes in QEMU's `-m` value (`128M`, `4G`, `512` = MiB, `size=1G,slots=2`),
    /// aligned up to 8 KiB as QEMU does; nil when it is not a size.
    static func guestRAMBytes(_ text: String) -> UInt64? {
        var value = Substring(text)
        if let comma = value.firstIndex(of: ",") {
            // `size=…` may come anywhere among the options; a bare first item is the size.
            let items = text.split(separator: ",")
            if let sized = items.first(where: { $0.hasPrefix("size=") }) { value = sized.dropFirst(5) }
            else { value = items.first ?? value[..<comma] }
        } else if value.hasPrefix("size=") {
            value = value.dropFirst(5)
        }
        let number = value.prefix { $0.isNumber || $0 == "." }
        let suffix = value.dropFirst(number.count).uppercased()
        guard let amount = Double(number), amount > 0 else { return nil }
        let shifts: [String: Int] = ["": 20, "B": 0, "K": 10, "M": 20, "G": 30, "T": 40]
        let unit = suffix.hasSuffix("IB") ? String(suffix.dropLast(2)) : (suffix.hasSuffix("B") && suffix.count == 2 ? String(suffix.dropLast()) : suffix)
        guard let shift = shifts[unit] else { return nil }
        let bytes = amount * Double(UInt64(1) << UInt64(shift))
        guard bytes >= 1, bytes < Double(UInt64(1) << 52) else { return nil }
        let alignment: UInt64 = 8192
        return (UInt64(bytes.rounded(.up)) + alignment - 1) / alignment * alignment
    }
}

extension SharedGuestRAM {
    /// Maps the whole of guest RAM read-write (through `/proc/self/fd`, since the file is
    /// unlinked and the launcher's descriptor is read-only); nil if that fails. For whole-RAM
    /// restores while the vCPUs are stopped, followed by a `loadvm`: its CPU post-load flushes
    /// QEMU's translated code, which a write through the file alone would leave stale (every
    /// other write goes through the gdbstub). Unmap with `munmap(pointer, Int(size))`.
    public func mapWritable() -> UnsafeMutableRawPointer? {
        let writable = open("/proc/self/fd/\(fileDescriptor)", O_RDWR | O_CLOEXEC)
        guard writable >= 0 else { return nil }
        defer { close(writable) }
        let mapped = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED, writable, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        return mapped
    }
}
