// gdbremote-bench: GdbRemote throughput and latency against QEMU's gdbstub,
// side by side with gdb-multiarch and a minimal raw-socket loop, on the same
// QEMU. Not a test: it prints figures and checks the bytes agree.
//
//   swift run -c release gdbremote-bench [--mib 16] [--runs 5]
import Foundation
import GdbRemote
import QEMULauncher
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
}

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return value
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = Deadline.now()
    try body()
    return Double(Deadline.now() - start) / 1e9
}

let mebibytes = argument("--mib", default: 16)
let runs = argument("--runs", default: 5)
let roundTrips = argument("--round-trips", default: 2000)
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
    print("QEMU pid \(qemu.pid), gdbstub 127.0.0.1:\(port); reading \(mebibytes) MiB, median of \(runs) runs")

    let gdb = try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: port), timeout: 10)
    gdb.pipelineWindow = argument("--window", default: gdb.pipelineWindow)
    // Run to `main`: boot.S has turned the MMU on, so the upper-half block maps RAM.
    let main = try elf.address(of: "main")
    try gdb.setBreakpoint(.software, at: main)
    _ = try gdb.continueAndWait(timeout: 10)
    try gdb.removeBreakpoint(.software, at: main)

    _ = try gdb.readMemory(at: virtualBase, count: 1 << 20)  // warm-up
    var virtualBytes: [UInt8] = []
    let virtualTimes = try (0..<runs).map { _ in try seconds { virtualBytes = try gdb.readMemory(at: virtualBase, count: byteCount) } }
    var physicalBytes: [UInt8] = []
    let physicalTimes = try (0..<runs).map { _ in
        try seconds { physicalBytes = try gdb.qemu.readPhysicalMemory(at: physicalBase, count: byteCount) }
    }
    guard virtualBytes == physicalBytes else { throw BenchFailure(description: "virtual and physical reads differ") }
    let virtualRate = Double(mebibytes) / median(virtualTimes)
    let physicalRate = Double(mebibytes) / median(physicalTimes)

    // 1-byte read round trip through the client...
    var clientRTT: [Double] = []
    for _ in 0..<roundTrips {
        clientRTT.append(try seconds { _ = try gdb.readMemory(at: virtualBase + 0x80000, count: 1) })
    }
    gdb.close()  // QEMU takes one debugger at a time; the VM stays stopped.

    // ...and through the thinnest loop that still speaks the protocol.
    let rawRTT = try rawSocketRoundTrips(port: port, address: virtualBase + 0x80000, count: roundTrips)

    // gdb-multiarch on the same range of the same QEMU.
    let dumpPath = FileManager.default.temporaryDirectory.appendingPathComponent("gdbremote-bench-\(getpid()).bin").path
    defer { try? FileManager.default.removeItem(atPath: dumpPath) }
    let gdbSeconds = try gdbDump(gdb: gdbPath, port: port, from: virtualBase, count: byteCount, to: dumpPath)
    guard let dumped = FileManager.default.contents(atPath: dumpPath), Array(dumped) == virtualBytes else {
        throw BenchFailure(description: "gdb-multiarch's dump differs from GdbRemote's read")
    }
    let gdbRate = Double(mebibytes) / gdbSeconds

    func f(_ v: Double) -> String { String(format: "%.1f", v) }
    func us(_ v: Double) -> String { String(format: "%.1f µs", v * 1e6) }
    print("")
    print("read \(mebibytes) MiB            MiB/s")
    print("  GdbRemote virtual     \(f(virtualRate))   (\(f(virtualRate / gdbRate))x gdb)")
    print("  GdbRemote physical    \(f(physicalRate))   (\(f(physicalRate / gdbRate))x gdb)")
    print("  gdb-multiarch dump    \(f(gdbRate))")
    print("  bytes identical: yes (virtual = physical = gdb dump)")
    print("")
    let clientMedian = median(clientRTT), rawMedian = median(rawRTT)
    print("1-byte read round trip (median of \(roundTrips))")
    print("  GdbRemote             \(us(clientMedian))")
    print("  raw socket loop       \(us(rawMedian))")
    print("  ratio                 \(String(format: "%.2f", clientMedian / rawMedian)) (goal <= 1.10)")
}

/// Sends `$m<addr>,1#cs` and reads up to the end of the reply, acking each
/// reply with the next request, exactly as little work as the protocol allows.
func rawSocketRoundTrips(port: Int, address: UInt64, count: Int) throws -> [Double] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchFailure(description: "socket failed") }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw BenchFailure(description: "raw connect failed: errno \(errno)") }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = PacketEncoder.packet("m" + String(address, radix: 16) + ",1")
    let ackedRequest = [UInt8(ascii: "+")] + request
    var buffer = [UInt8](repeating: 0, count: 4096)
    var times: [Double] = []
    for i in 0..<(count + 1) {
        let start = Deadline.now()
        let out = i == 0 ? request : ackedRequest
        guard send(fd, out, out.count, Int32(MSG_NOSIGNAL)) == out.count else { throw BenchFailure(description: "raw send failed") }
        // Read until "#xx" of the reply (the stub's '+' comes first).
        var seenHash = -1, total = 0
        while seenHash < 0 || total < seenHash + 3 {
            let n = recv(fd, &buffer[total], buffer.count - total, 0)
            guard n > 0 else { throw BenchFailure(description: "raw recv failed") }
            if seenHash < 0, let h = buffer[total..<total + n].firstIndex(of: UInt8(ascii: "#")) { seenHash = h }
            total += n
        }
        if i > 0 { times.append(Double(Deadline.now() - start) / 1e9) }  // the first one warms up
    }
    _ = send(fd, "+", 1, Int32(MSG_NOSIGNAL))
    return times
}

/// Times gdb-multiarch's `dump binary memory` (inside gdb, excluding its start-up).
func gdbDump(gdb: String, port: Int, from address: UInt64, count: Int, to path: String) throws -> Double {
    let end = address + UInt64(count)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    process.arguments = ["-batch", "-nx",
                         "-ex", "set architecture aarch64",
                         "-ex", "target remote 127.0.0.1:\(port)",
                         "-ex", "python import time; t0 = time.monotonic()",
                         "-ex", "dump binary memory \(path) 0x\(String(address, radix: 16)) 0x\(String(end, radix: 16))",
                         "-ex", "python print('DUMP-SECONDS', time.monotonic() - t0)",
                         "-ex", "disconnect"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        throw BenchFailure(description: "gdb-multiarch did not finish within 120 s")
    }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("DUMP-SECONDS") }),
          let value = Double(line.split(separator: " ").last ?? "") else {
        throw BenchFailure(description: "gdb-multiarch did not report its time: \(output.suffix(400))")
    }
    return value
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("gdbremote-bench: \(error)\n".utf8))
    exit(1)
}
