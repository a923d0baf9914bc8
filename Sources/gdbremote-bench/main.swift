// gdbremote-bench: GdbRemote throughput and latency against QEMU's gdbstub,
// side by side with gdb-multiarch and minimal raw-socket loops, on the same
// QEMU. Not a test: it prints figures and checks the bytes agree.
//
//   swift run -c release gdbremote-bench [--mib 16] [--runs 5] [--window 32] [--round-trips 2000]
//
// The machine is shared, so every round runs all contenders back to back
// (GdbRemote virtual, physical, raw loop, gdb-multiarch) and medians are reported.
import Foundation
import GdbRemote
import QEMULauncher
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return value
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = Deadline.now()
    try body()
    return Double(Deadline.now() - start) / 1e9
}

let mebibytes = argument("--mib", default: 16)
let runs = argument("--runs", default: 5)
let roundTrips = argument("--round-trips", default: 2000)
let window = argument("--window", default: 32)
let byteCount = mebibytes << 20
let virtualBase: UInt64 = 0xFFFF_0000_4000_0000  // the kernel's 1 GiB boot block over RAM
let physicalBase: UInt64 = 0x4000_0000

func run() throws {
    let kernel = try Tools.kernelImage()
    let gdbPath = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
    let elf = try ElfImage(path: kernel)
    var configuration = QEMUConfiguration(kernel: kernel)
    configuration.gdb = .tcpFreePort
    configuration.stoppedAtEntry = true
    let qemu = try QEMUInstance(configuration)
    defer { qemu.stop() }
    let port = qemu.gdbPort!
    let address = GdbAddress.tcp(host: "127.0.0.1", port: port)
    print("QEMU pid \(qemu.pid), gdbstub 127.0.0.1:\(port); \(mebibytes) MiB, median of \(runs) interleaved runs, window \(window)")

    // Run to `main`: boot.S has turned the MMU on, so the upper-half block maps RAM.
    do {
        let gdb = try GdbClient.connect(to: address, timeout: 10)
        let main = try elf.address(of: "main")
        try gdb.setBreakpoint(.software, at: main)
        _ = try gdb.continueAndWait(timeout: 10)
        try gdb.removeBreakpoint(.software, at: main)
        _ = try gdb.readMemory(at: virtualBase, count: 1 << 20)  // warm-up
        gdb.close()  // QEMU takes one debugger at a time; the VM stays stopped.
    }

    var virtualTimes: [Double] = [], physicalTimes: [Double] = [], rawTimes: [Double] = []
    var clientRTT: [Double] = [], rawRTT: [Double] = [], gdbTimes: [Double] = []
    let dumpPath = FileManager.default.temporaryDirectory.appendingPathComponent("gdbremote-bench-\(getpid()).bin").path
    defer { try? FileManager.default.removeItem(atPath: dumpPath) }
    var virtualBytes: [UInt8] = [], physicalBytes: [UInt8] = []
    let rttAddress = virtualBase + 0x80000
    for _ in 0..<runs {
        let gdb = try GdbClient.connect(to: address, timeout: 10)
        gdb.pipelineWindow = window
        virtualTimes.append(try seconds { virtualBytes = try gdb.readMemory(at: virtualBase, count: byteCount) })
        physicalTimes.append(try seconds { physicalBytes = try gdb.qemu.readPhysicalMemory(at: physicalBase, count: byteCount) })
        for _ in 0..<(roundTrips / runs) {
            clientRTT.append(try seconds { _ = try gdb.readMemory(at: rttAddress, count: 1) })
        }
        gdb.close()
        let raw = try RawStubSocket(port: port)
        rawTimes.append(try seconds { try raw.pipelinedRead(from: virtualBase, count: byteCount, window: window) })
        rawRTT += try raw.roundTrips(address: rttAddress, count: roundTrips / runs)
        raw.close()
        guard virtualBytes == physicalBytes else { throw Bench.Failure(description: "virtual and physical reads differ") }
        // gdb-multiarch on the same range of the same QEMU, in the same round.
        gdbTimes.append(try Bench.gdbDump(gdb: gdbPath, port: port, from: virtualBase, count: byteCount, to: dumpPath, physical: false))
        guard let dumped = FileManager.default.contents(atPath: dumpPath), Array(dumped) == virtualBytes else {
            throw Bench.Failure(description: "gdb-multiarch's dump differs from GdbRemote's read")
        }
    }

    let virtualRate = Double(mebibytes) / Bench.median(virtualTimes)
    let physicalRate = Double(mebibytes) / Bench.median(physicalTimes)
    let rawRate = Double(mebibytes) / Bench.median(rawTimes)
    let gdbRate = Double(mebibytes) / Bench.median(gdbTimes)
    func f(_ v: Double) -> String { String(format: "%6.1f", v) }
    print("")
    print("read \(mebibytes) MiB of guest RAM           MiB/s   vs gdb")
    print("  GdbRemote, virtual addresses   \(f(virtualRate))   \(f(virtualRate / gdbRate))x")
    print("  GdbRemote, physical (PhyMem)   \(f(physicalRate))   \(f(physicalRate / gdbRate))x")
    print("  raw socket loop, same window   \(f(rawRate))   \(f(rawRate / gdbRate))x   (ceiling: no decoding, no checks)")
    print("  gdb-multiarch dump binary      \(f(gdbRate))")
    print("  bytes identical: yes (virtual = physical = gdb dump)")
    print("  goals: >= 100 MiB/s and >= 7x gdb")
    print("")
    let clientMedian = Bench.median(clientRTT), rawMedian = Bench.median(rawRTT)
    print("1-byte read round trip (median of \(clientRTT.count))")
    print("  GdbRemote                      \(String(format: "%6.1f", clientMedian * 1e6)) µs")
    print("  raw socket loop                \(String(format: "%6.1f", rawMedian * 1e6)) µs")
    print("  ratio                          \(String(format: "%6.2f", clientMedian / rawMedian))   (goal <= 1.10)")
}

/// The thinnest client that still speaks the protocol: blocking socket, fixed
/// packets, replies found by their `#`. The reference the client is measured against.
final class RawStubSocket {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 18)

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Bench.Failure(description: "socket failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Bench.Failure(description: "raw connect failed: errno \(errno)") }
    }

    func close() { _ = Glibc.close(fd) }

    private func send(_ bytes: [UInt8]) throws {
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw Bench.Failure(description: "raw send failed") }
    }

    /// `count` sequential 1-byte reads, each acked by the next request; seconds per round trip.
    func roundTrips(address: UInt64, count: Int) throws -> [Double] {
        let request = PacketEncoder.packet("m" + String(address, radix: 16) + ",1")
        let acked = [UInt8(ascii: "+")] + request
        var times: [Double] = []
        for i in 0...count {
            let start = Deadline.now()
            try send(i == 0 ? request : acked)
            var hash = -1, total = 0
            while hash < 0 || total < hash + 3 {
                let n = recv(fd, &buffer[total], buffer.count - total, 0)
                guard n > 0 else { throw Bench.Failure(description: "raw recv failed") }
                if hash < 0, let h = buffer[total..<total + n].firstIndex(of: UInt8(ascii: "#")) { hash = h }
                total += n
            }
            if i > 0 { times.append(Double(Deadline.now() - start) / 1e9) }  // the first one warms up
        }
        try send([UInt8(ascii: "+")])
        return times
    }

    /// Reads `count` bytes in 0x800-byte `m` packets with `window` in flight, counting
    /// replies by their `#` and acking them in the next write. No hex decoding.
    func pipelinedRead(from base: UInt64, count: Int, window: Int) throws {
        let chunks = count / 0x800
        var sent = 0, received = 0
        func request(_ i: Int) -> [UInt8] { PacketEncoder.packet("m" + String(base + UInt64(i) * 0x800, radix: 16) + ",800") }
        var out: [UInt8] = []
        while sent < min(window, chunks) { out += request(sent); sent += 1 }
        try send(out)
        while received < chunks {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw Bench.Failure(description: "raw recv failed") }
            var completed = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "#") { completed += 1 }
            received += completed
            out.removeAll(keepingCapacity: true)
            for _ in 0..<completed { out.append(UInt8(ascii: "+")) }
            while sent < chunks && sent - received < window { out += request(sent); sent += 1 }
            if !out.isEmpty { try send(out) }
        }
    }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("gdbremote-bench: \(error)\n".utf8))
    exit(1)
}
