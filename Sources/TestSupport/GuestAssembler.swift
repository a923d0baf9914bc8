import Foundation
import QEMULauncher

/// Builds the bare-metal test guests (TinyGuest, MMUGuest) from assembly.
enum GuestAssembler {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: [String: String] = [:]

    /// Builds `source` (once per source version, shared by test processes) and
    /// returns the ELF path; `name` names its temporary directory, `what` the
    /// error. Fails with an install hint when clang or ld.lld is missing.
    static func image(of source: String, named name: String, what: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let elfPath = built[source] { return elfPath }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a of the source: a new guest gets a new directory
        for byte in source.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-\(name)-\(String(hash, radix: 16))")
        let elfPath = dir.appendingPathComponent("guest.elf").path
        if FileManager.default.fileExists(atPath: elfPath) { built[source] = elfPath; return elfPath }
        let clang = try QEMUInstance.findExecutable("/opt/swift/usr/bin/clang") ?? Tools.require("clang", package: "clang lld")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Build under a private name and rename: parallel test processes never see half a file.
        let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let sourcePath = dir.appendingPathComponent("guest-\(unique).S").path
        let temporaryElf = dir.appendingPathComponent("guest-\(unique).elf").path
        defer { try? FileManager.default.removeItem(atPath: sourcePath) }
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try assemble(sourcePath, into: temporaryElf, with: clang, what: what)
        if rename(temporaryElf, elfPath) != 0 { try? FileManager.default.removeItem(atPath: temporaryElf) }
        built[source] = elfPath
        return elfPath
    }

    /// Assembles and links `source` at 0x40080000 into `elf` with `clang` (+ lld).
    private static func assemble(_ source: String, into elf: String, with clang: String, what: String) throws {
        let result = try ChildProcess.run(clang, ["--target=aarch64-none-elf", "-nostdlib", "-fuse-ld=lld", "-Wl,-N",
                                                  "-Wl,-Ttext=0x40080000", "-Wl,-e,_start", "-o", elf, source],
                                          timeout: 60)
        guard result.status == 0 else {
            throw Tools.Missing(description: "building \(what) with \(clang) failed (needs clang and ld.lld): \(result.combined)")
        }
    }
}
