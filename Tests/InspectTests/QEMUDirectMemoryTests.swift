import Foundation
import Testing
import GdbRemote
import Inspect
import KernelABI
import QEMULauncher
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Direct guest-RAM reads (mapped RAM file, process_vm_readv) against QEMU's
/// own stub on the bundled kernel: same bytes, fresh after the guest runs,
/// the right fallbacks, no files left behind.
@Suite("Direct guest memory under QEMU", .serialized)
struct QEMUDirectMemorySystemTests {
    /// Random physical ranges over RAM (many crossing pages), plus ranges at both
    /// ends of RAM, with the stub's bytes for each.
    static func compare(_ source: DirectPhysicalMemorySource, with stub: GdbMemorySource, seed: UInt64) throws {
        let layout = try #require(source.direct?.layout)
        let ram = layout.regions[0]
        var generator = SeededGenerator(seed: seed)
        var requests = (0..<160).map { _ -> MemoryRequest in
            let length = Int.random(in: 1...3 * 4096, using: &generator)
            // Half the ranges straddle a page boundary on purpose.
            var address = ram.guestPhysicalAddress + UInt64.random(in: 0..<(ram.size - UInt64(length)), using: &generator)
            if Bool.random(using: &generator) { address = (address & ~0xFFF) + 0x1000 - UInt64(length / 2) }
            return MemoryRequest(.physical, address: address, length: length)
        }
        requests.append(MemoryRequest(.physical, address: ram.guestPhysicalAddress, length: 4096))
        requests.append(MemoryRequest(.physical, address: ram.end - 5000, length: 5000))
        let before = source.directBatches
        let direct = try source.read(requests)
        #expect(source.directBatches == before + 1)
        // The stub in a few batches (each one pipelined exchange).
        for start in stride(from: 0, to: requests.count, by: 40) {
            let slice = Array(requests[start..<min(start + 40, requests.count)])
            let viaStub = try stub.read(slice)
            for (offset, bytes) in viaStub.enumerated() where bytes != direct[start + offset] {
                Issue.record("\(source.path) and the stub differ at \(slice[offset])")
            }
        }
    }

    @Test func mappedFileAndProcessMemoryMatchTheStub() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        let launched = try #require(SharedRAMFiles.launched(kernel.qemu), "\(kernel.qemu.sharedRAMUnavailableReason ?? "")")
        let mapped = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory, launched: launched)
        #expect(mapped.path == "direct (mmap)", "\(mapped.statusLine)")
        #expect(mapped.fallbackReason == nil)
        // The layout came from the monitor and agrees with what the launcher made.
        let layout = try #require(mapped.direct?.layout)
        #expect(layout.regions.count == 1 && layout.regions[0].size == launched.size && layout.regions[0].name == "mmdbg-ram")
        #expect(layout.regions[0].guestPhysicalAddress == kernel.qemu.sharedRAM?.expectedGuestPhysicalBase)
        try Self.compare(mapped, with: kernel.memory, seed: 1)

        let process = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory, qemuPID: kernel.qemu.pid)
        #expect(process.path == "direct (process_vm_readv)", "\(process.statusLine)")
        try Self.compare(process, with: kernel.memory, seed: 2)

        // A range running off the end of RAM, and device memory, are the stub's.
        let end = layout.regions[0].end
        let stubBefore = mapped.stubBatches
        let results = try mapped.readEach([MemoryRequest(.physical, address: end - 8, length: 16),
                                           MemoryRequest(.physical, address: 0x0900_0018, length: 4)])   // PL011 flag register
        #expect(mapped.stubBatches == stubBefore + 1)
        // (QEMU's physical mode reads unassigned addresses as whatever the bus returns: only RAM's part is checked.)
        if case .success(let straddling) = results[0] {
            #expect(Array(straddling.prefix(8)) == (try mapped.read(MemoryRequest(.physical, address: end - 8, length: 8))))
        }
        guard case .success(let flags) = results[1] else { Issue.record("UART register read failed: \(results[1])"); return }
        #expect(flags.count == 4)
        // Virtual reads go to the stub and agree with the physical alias.
        let layoutRecord = try kernel.elf.address(of: "mm_layout")
        let pair = try mapped.read([MemoryRequest(.virtual, address: layoutRecord, length: 64),
                                    MemoryRequest(.physical, address: KernelSymbols.physical(layoutRecord), length: 64)])
        #expect(pair[0] == pair[1])
    }

    @Test func directReadsSeeWhatTheGuestDidBetweenStops() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        let source = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory, launched: SharedRAMFiles.launched(kernel.qemu))
        try #require(source.path == "direct (mmap)", "\(source.statusLine)")
        let log = try kernel.elf.address(of: "mm_log")
        let head = MemoryRequest(.physical, address: KernelSymbols.physical(log) + UInt64(MemoryLayout<mm_log_ring>.offset(of: \.head)!), length: 8)
        let early = try source.read(head).littleEndianUInt64(at: 0)

        source.targetResumed()
        #expect(!source.readsDirectly)
        try kernel.run(to: "mm_psci_system_off")   // boot completes, the kernel logs
        source.targetStopped()

        let before = source.directBatches
        let late = try source.read(head)
        #expect(source.directBatches == before + 1)
        #expect(late == (try kernel.memory.read(head)))
        #expect(late.littleEndianUInt64(at: 0) > early, "log head \(early) -> \(late.littleEndianUInt64(at: 0))")
    }

    @Test func qemuWithoutSharedRAMIsReadWithProcessVMReadv() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main", sharedRAM: false)
        defer { kernel.stop() }
        #expect(kernel.qemu.sharedRAM == nil)
        #expect(kernel.qemu.sharedRAMUnavailableReason == "shared RAM is off in the configuration")
        #expect(!kernel.qemu.arguments.contains { $0.contains("memory-backend") })
        // Found from the gdbstub socket alone: no PID, no file given.
        let source = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory)
        #expect(source.path == "direct (process_vm_readv)", "\(source.statusLine)")
        #expect((source.direct as? ProcessMemorySource)?.pid == kernel.qemu.pid)
        try Self.compare(source, with: kernel.memory, seed: 3)
    }

    @Test func aStubBehindAForwarderFallsBackToTheStubWithAReason() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        kernel.client.close()   // QEMU takes one debugger: the forwarded one
        let forwarder = try LoopbackForwarder(to: kernel.qemu.gdbPort!)
        defer { forwarder.stop() }
        let client = try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: forwarder.port), timeout: 30)
        defer { client.close() }
        let source = DirectMemorySelector.select(client: client)
        #expect(source.path == "gdbstub")
        let reason = try #require(source.fallbackReason)
        #expect(reason.contains("pid \(getpid())") && reason.contains("not qemu-system-*"), "\(reason)")
        #expect(!source.statusLine.contains("\n"))
        // Reads still work, through the stub.
        let bytes = try source.read(MemoryRequest(.physical, address: MM_KERNEL_LOAD_PA, length: 4096))
        #expect(bytes.count == 4096 && source.directBatches == 0)
    }

    @Test func aQEMUKilledMidSessionGivesOneErrorLine() throws {
        let kernel = try StoppedKernel(append: nil, stopAt: "main")
        defer { kernel.stop() }
        let mapped = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory, launched: SharedRAMFiles.launched(kernel.qemu))
        let process = DirectMemorySelector.select(client: kernel.client, stub: kernel.memory, qemuPID: kernel.qemu.pid)
        try #require(mapped.path == "direct (mmap)" && process.path == "direct (process_vm_readv)")
        let request = MemoryRequest(.physical, address: MM_KERNEL_LOAD_PA, length: 4096)
        _ = try mapped.read(request)
        kill(kernel.qemu.pid, SIGKILL)
        _ = try kernel.qemu.waitForExit(timeout: 15)
        for source in [process, mapped] {
            do {
                _ = try source.read(request)
                Issue.record("\(source.statusLine): a read from a dead QEMU succeeded")
            } catch {
                #expect(!error.description.contains("\n"), "\(error)")
            }
        }
        // The first read found the process gone and dropped the direct path, saying why;
        // it also lost the stub connection, so the second source no longer reads directly.
        #expect(process.path == "gdbstub")
        #expect(process.fallbackReason?.contains("exited") == true, "\(process.statusLine)")
        #expect(!mapped.readsDirectly)
    }

    @Test func nothingIsLeftInSharedMemoryOrTheTemporaryDirectory() throws {
        let image = try Tools.kernelImage()
        for ending in ["stop", "SIGKILL", "own exit"] {
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: image)
            if ending == "own exit" { configuration.stoppedAtEntry = false; configuration.gdb = .none }
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let ram = try #require(qemu.sharedRAM, "\(qemu.sharedRAMUnavailableReason ?? "")")
            #expect(ram.path.contains("mmdbg"))
            // Unlinked once QEMU mapped it: QEMU's mapping shows the deleted file.
            #expect(!FileManager.default.fileExists(atPath: ram.path))
            #expect(SharedRAMFiles.lingering(byHost: getpid()).isEmpty)
            let maps = (try? String(contentsOfFile: "/proc/\(qemu.pid)/maps", encoding: .utf8)) ?? ""
            #expect(maps.contains("\(ram.path) (deleted)") || !qemu.isRunning)
            switch ending {
            case "stop": qemu.stop()
            case "SIGKILL": kill(qemu.pid, SIGKILL); _ = try qemu.waitForExit(timeout: 15)
            default: _ = try qemu.waitForExit(timeout: 60)   // the kernel powers off
            }
            #expect(SharedRAMFiles.lingering(byHost: getpid()).isEmpty, "\(ending)")
        }
    }
}

/// Copies bytes between one accepted loopback connection and the stub: the
/// gdbstub reached through another process's socket (here: this one's).
final class LoopbackForwarder: @unchecked Sendable {
    /// Set by `stop()`, read by the pump between polls.
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var raised = false
        func raise() { lock.withLock { raised = true } }
        var isRaised: Bool { lock.withLock { raised } }
    }

    let port: Int
    private let listener: Int32
    private let stopping = Flag()
    private let finished = Flag()

    init(to stubPort: Int) throws {
        let (fd, port) = try LoopbackListener.open()
        self.listener = fd
        self.port = port
        let stopping = self.stopping, finished = self.finished
        Thread {
            Self.forward(listener: fd, stubPort: stubPort, stopping: stopping)
            finished.raise()
        }.start()
    }

    /// Ends the pump (within its 100 ms poll slice, or the 30 s accept deadline) and closes the listener.
    func stop() {
        stopping.raise()
        _ = HostProcess.eventually(within: 31) { finished.isRaised }
        close(listener)
    }

    /// Accepts one client (deadline 30 s) and pumps both ways until either side closes or `stop()`.
    private static func forward(listener: Int32, stubPort: Int, stopping: Flag) {
        var pending = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        let acceptDeadline = Date().addingTimeInterval(30)
        while poll(&pending, 1, 100) == 0 {
            if stopping.isRaised || Date() > acceptDeadline { return }
        }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        let stub = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(stub) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(stubPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(stub, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !stopping.isRaised {
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: stub, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, 100)
            if ready < 0 { return }
            for (from, to) in [(0, 1), (1, 0)] where fds[from].revents != 0 {
                let n = recv(fds[from].fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                var sent = 0
                while sent < n {
                    let m = buffer.withUnsafeBytes { send(fds[to].fd, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                    if m <= 0 { return }
                    sent += m
                }
            }
        }
    }
}
