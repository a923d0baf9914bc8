import Foundation
import GdbRemote

/// Why a direct path could not be used: one line, shown by `status`.
public struct DirectMemoryUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `--ram-file FILE[@GPA]`: a guest RAM file to map, and the guest-physical
/// address of its first byte (learned from the monitor when absent).
public struct RAMFileArgument: Sendable, Equatable {
    public var path: String
    public var guestPhysicalAddress: UInt64?

    public init(path: String, guestPhysicalAddress: UInt64? = nil) {
        self.path = path
        self.guestPhysicalAddress = guestPhysicalAddress
    }

    /// Parses `FILE` or `FILE@GPA` (GPA in hex with 0x, or decimal); one-line error otherwise.
    public init(parsing text: String) throws(DirectMemoryUnavailable) {
        var path = Substring(text)
        var address: UInt64? = nil
        if let at = text.lastIndex(of: "@") {
            let digits = text[text.index(after: at)...]
            let value = digits.hasPrefix("0x") || digits.hasPrefix("0X") ? UInt64(digits.dropFirst(2), radix: 16) : UInt64(digits)
            guard let value else {
                throw DirectMemoryUnavailable("--ram-file \(text): \"\(digits)\" after @ is not an address (use FILE@0x40000000)")
            }
            address = value
            path = text[..<at]
        }
        guard !path.isEmpty else { throw DirectMemoryUnavailable("--ram-file \(text): no file name before @") }
        self.init(path: String(path), guestPhysicalAddress: address)
    }
}

/// The RAM file of a QEMU this process launched (from `QEMUInstance.sharedRAM`
/// and `QEMUInstance.pid`; Inspect does not depend on the launcher).
public struct LaunchedRAMFile: Sendable, Equatable {
    public var descriptor: Int32
    public var size: UInt64
    /// The memory backend's id: its region's name in `info mtree -f`.
    public var backendID: String
    public var qemuPID: Int32

    public init(descriptor: Int32, size: UInt64, backendID: String, qemuPID: Int32) {
        self.descriptor = descriptor
        self.size = size
        self.backendID = backendID
        self.qemuPID = qemuPID
    }
}

/// Picks the fastest way to read a stopped QEMU's RAM, and never fails:
///
/// 1. `--ram-file FILE[@GPA]`, when given: map that file.
/// 2. The RAM file of a QEMU we launched: map it.
/// 3. The QEMU process (`--qemu-pid`, else the peer of the gdbstub socket
///    found through /proc), checked to be `qemu-system-*`: process_vm_readv.
/// 4. The stub.
///
/// The layout always comes from the target's monitor (`info mtree -f`, and
/// `gpa2hva` for process memory), and the first page of RAM read directly must
/// equal the stub's, so a wrong file or process is caught. Every option that
/// fails adds its one-line reason to `fallbackReason`. Call it while the
/// target is stopped (the monitor is unreachable while it runs).
public enum DirectMemorySelector {
    public static func select(client: GdbClient, stub: GdbMemorySource? = nil, launched: LaunchedRAMFile? = nil,
                              qemuPID: Int32? = nil, ramFile: RAMFileArgument? = nil) -> DirectPhysicalMemorySource {
        let stub = stub ?? GdbMemorySource(client: client)
        let stopped = client.state == .stopped
        var reasons: [String] = []
        var chosen: (any DirectRAMSource)? = nil
        if !stopped {
            reasons.append("target not stopped when the memory path was chosen (\(client.state))")
        } else {
            var ranges: [FlatMemoryRange]? = nil   // `info mtree -f`, asked once
            var options: [Option] = []
            if let ramFile { options.append(.ramFile(ramFile)) }
            if let launched { options.append(.launched(launched)) }
            options.append(.process(qemuPID))
            for option in options {
                do throws(DirectMemoryUnavailable) {
                    let source = try make(option, client: client, ranges: &ranges)
                    try verify(source, against: stub)
                    chosen = source
                    break
                } catch {
                    reasons.append(error.description)
                }
            }
        }
        return DirectPhysicalMemorySource(stub: stub, direct: chosen, fallbackReason: reasons.isEmpty ? nil : reasons.joined(separator: "; "),
                                          targetIsStopped: stopped, stubIsStopped: { [weak client] in client?.state == .stopped })
    }

    /// The candidates, best first.
    enum Option {
        case ramFile(RAMFileArgument)
        case launched(LaunchedRAMFile)
        /// A given PID, or nil: the peer of the gdbstub socket.
        case process(Int32?)
    }

    /// Builds one candidate; the cheap checks (file, process) come before the monitor is asked.
    static func make(_ option: Option, client: GdbClient, ranges: inout [FlatMemoryRange]?) throws(DirectMemoryUnavailable) -> any DirectRAMSource {
        func tree() throws(DirectMemoryUnavailable) -> [FlatMemoryRange] {
            if let ranges { return ranges }
            let found = try flatRanges(client: client)
            ranges = found
            return found
        }
        switch option {
        case .ramFile(let file):
            return try mapped(file, ranges: try tree())
        case .launched(let launched):
            return try mapped(launched, ranges: try tree())
        case .process(let given):
            var pid: Int32
            if let given { pid = given } else { pid = try QEMUProcessLocator.pid(behind: client.stubEndpoint) }
            try QEMUProcessLocator.checkIsQEMU(pid)
            return ProcessMemorySource(pid: pid, layout: try hostVirtualLayout(client: client, ranges: try tree()))
        }
    }

    /// The system address space's flat view, from the monitor.
    public static func flatRanges(client: GdbClient) throws(DirectMemoryUnavailable) -> [FlatMemoryRange] {
        let text: String
        do throws(GdbError) { text = try client.monitor("info mtree -f") } catch {
            throw DirectMemoryUnavailable("monitor `info mtree -f` failed: \(error)")
        }
        do throws(MemoryTreeError) { return try MemoryTreeParser.flatRanges(text) } catch {
            throw DirectMemoryUnavailable(error.description)
        }
    }

    /// RAM regions with QEMU's host virtual address of each (`gpa2hva` on its first byte:
    /// a flat range is contiguous in one RAM block).
    public static func hostVirtualLayout(client: GdbClient, ranges: [FlatMemoryRange]) throws(DirectMemoryUnavailable) -> GuestRAMLayout {
        var regions: [GuestRAMRegion] = []
        for range in ranges where range.isRAM {
            let answer: String
            do throws(GdbError) { answer = try client.monitor("gpa2hva 0x" + String(range.start, radix: 16)) } catch {
                throw DirectMemoryUnavailable("monitor `gpa2hva` failed: \(error)")
            }
            let host: UInt64
            do throws(MemoryTreeError) { host = try MemoryTreeParser.hostVirtualAddress(answer) } catch {
                throw DirectMemoryUnavailable(error.description)
            }
            regions.append(GuestRAMRegion(guestPhysicalAddress: range.start, size: range.size, backingAddress: host, name: range.name))
        }
        guard let layout = GuestRAMLayout(regions) else {
            throw DirectMemoryUnavailable("`info mtree -f` shows no usable RAM region")
        }
        return layout
    }

    /// The regions of backend `backendID`, with file offsets as backing addresses.
    public static func fileLayout(ranges: [FlatMemoryRange], backendID: String) -> GuestRAMLayout? {
        GuestRAMLayout(ranges.filter { $0.isRAM && $0.name == backendID }.map {
            GuestRAMRegion(guestPhysicalAddress: $0.start, size: $0.size, backingAddress: $0.offsetInRegion, name: $0.name)
        })
    }

    static func mapped(_ launched: LaunchedRAMFile, ranges: [FlatMemoryRange]) throws(DirectMemoryUnavailable) -> any DirectRAMSource {
        guard let layout = fileLayout(ranges: ranges, backendID: launched.backendID) else {
            throw DirectMemoryUnavailable("`info mtree -f` shows no RAM region named \(launched.backendID) (the launched RAM file)")
        }
        do throws(MemoryError) {
            return try MappedRAMMemorySource(descriptor: launched.descriptor, size: launched.size, layout: layout, qemuPID: launched.qemuPID)
        } catch {
            throw DirectMemoryUnavailable(error.description)
        }
    }

    static func mapped(_ file: RAMFileArgument, ranges: [FlatMemoryRange]) throws(DirectMemoryUnavailable) -> any DirectRAMSource {
        var status = stat()
        guard stat(file.path, &status) == 0 else {
            throw DirectMemoryUnavailable("--ram-file \(file.path): \(String(cString: strerror(errno)))")
        }
        let size = UInt64(status.st_size)
        let region: GuestRAMRegion
        if let address = file.guestPhysicalAddress {
            region = GuestRAMRegion(guestPhysicalAddress: address, size: size, backingAddress: 0, name: file.path)
        } else {
            // Without @GPA the file must be exactly one RAM region the monitor shows.
            let candidates = ranges.filter { $0.isRAM && $0.offsetInRegion == 0 && $0.size == size }
            guard candidates.count == 1 else {
                throw DirectMemoryUnavailable("--ram-file \(file.path): \(candidates.count) RAM regions of \(size) bytes in `info mtree -f`; give its address as FILE@GPA")
            }
            region = GuestRAMRegion(guestPhysicalAddress: candidates[0].start, size: size, backingAddress: 0, name: candidates[0].name)
        }
        guard let layout = GuestRAMLayout([region]) else { throw DirectMemoryUnavailable("--ram-file \(file.path): empty or wraps around") }
        do throws(MemoryError) { return try MappedRAMMemorySource(path: file.path, layout: layout) } catch {
            throw DirectMemoryUnavailable(error.description)
        }
    }

    /// The first page of RAM, read directly and through the stub, must agree.
    static func verify(_ source: any DirectRAMSource, against stub: GdbMemorySource) throws(DirectMemoryUnavailable) {
        let first = source.layout.regions[0]
        let probe = MemoryRequest(.physical, address: first.guestPhysicalAddress, length: Int(min(first.size, 4096)))
        let direct: [UInt8], viaStub: [UInt8]
        do throws(MemoryError) { direct = try source.read(probe) } catch {
            throw DirectMemoryUnavailable("\(source.pathDescription): \(error)")
        }
        do throws(MemoryError) { viaStub = try stub.read(probe) } catch {
            throw DirectMemoryUnavailable("checking \(source.pathDescription) against the stub: \(error)")
        }
        guard direct == viaStub else {
            throw DirectMemoryUnavailable("\(source.pathDescription): \(probe) differs from the stub's bytes (not this target's RAM)")
        }
    }
}

/// Finds the process behind a gdbstub connection through /proc.
public enum QEMUProcessLocator {
    /// The PID owning the stub's end of the connection.
    public static func pid(behind endpoint: StubEndpoint?) throws(DirectMemoryUnavailable) -> Int32 {
        switch endpoint {
        case nil:
            throw DirectMemoryUnavailable("the gdbstub connection is not a local socket")
        case .unix(let peer)?:
            guard let peer else { throw DirectMemoryUnavailable("the kernel did not name the gdbstub socket's peer process") }
            return peer
        case .tcp(let local, let remote)?:
            // The stub's socket is the one whose local end is our remote end, and vice versa.
            guard let inode = peerSocketInode(local: local.unmapped, remote: remote.unmapped) else {
                throw DirectMemoryUnavailable("the gdbstub at \(remote) (connected from \(local)) is not a socket on this host")
            }
            guard let pid = owner(ofSocketInode: inode) else {
                throw DirectMemoryUnavailable("no visible process holds the gdbstub's socket (inode \(inode))")
            }
            return pid
        }
    }

    /// Succeeds when `pid` runs a `qemu-system-*` binary.
    public static func checkIsQEMU(_ pid: Int32) throws(DirectMemoryUnavailable) {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        let name = (executable as NSString).lastPathComponent.replacingOccurrences(of: " (deleted)", with: "")
        let command = ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.hasPrefix("qemu-system-") || (executable.isEmpty && command.hasPrefix("qemu-system-")) else {
            let what = name.isEmpty ? (command.isEmpty ? "an unknown process" : command) : name
            throw DirectMemoryUnavailable("the gdbstub's peer is pid \(pid) (\(what)), not qemu-system-*")
        }
    }

    /// The inode of the ESTABLISHED socket whose ends are `remote` (local side) and `local` (remote side).
    static func peerSocketInode(local: SocketAddress, remote: SocketAddress) -> String? {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = procText(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
                let columns = line.split(separator: " ")
                guard columns.count > 9, columns[3] == "01",
                      let own = procNetAddress(columns[1])?.unmapped, let peer = procNetAddress(columns[2])?.unmapped,
                      own == remote, peer == local else { continue }
                return String(columns[9])
            }
        }
        return nil
    }

    /// `0100007F:1F90` (IPv4, the 32-bit word in host order) or 32 hex digits of IPv6
    /// (four 32-bit words, each in host order) and a port.
    static func procNetAddress(_ text: Substring) -> SocketAddress? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1], radix: 16), parts[0].count == 8 || parts[0].count == 32 else { return nil }
        var bytes: [UInt8] = []
        var digits = parts[0][...]
        while !digits.isEmpty {
            guard let word = UInt32(digits.prefix(8), radix: 16) else { return nil }
            // The kernel prints the in-memory word as a number: on little-endian hosts the
            // first address byte is the word's lowest byte.
            bytes += withUnsafeBytes(of: word) { Array($0) }
            digits = digits.dropFirst(8)
        }
        return SocketAddress(address: bytes, port: port)
    }

    /// A /proc file read to its end (`String(contentsOfFile:)` stops after ~4 KB of a
    /// file whose size reads as 0, cutting /proc/net/tcp short on a busy host).
    static func procText(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    /// The process with a descriptor on socket `inode` (QEMU processes looked at first).
    static func owner(ofSocketInode inode: String) -> Int32? {
        let wanted = "socket:[\(inode)]"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        let pids = entries.compactMap { Int32($0) }
        func isQEMU(_ pid: Int32) -> Bool {
            ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("qemu-system")
        }
        for pid in pids.filter(isQEMU) + pids.filter({ !isQEMU($0) }) {
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in descriptors where (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) == wanted {
                return pid
            }
        }
        return nil
    }
}
