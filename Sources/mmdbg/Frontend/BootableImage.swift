import Foundation
import Inspect

/// Whether a file is something `qemu-system-aarch64 -kernel` can boot on this
/// machine: an AArch64 ELF, or an arm64 Linux `Image` (raw, with its header).
/// QEMU itself loads anything else as raw bytes at the load address and runs
/// them, so `--kernel /etc/passwd` would "boot"; mmdbg refuses it up front.
enum BootableImage {
    /// Why a file cannot be booted (one line).
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The arm64 Linux boot header's magic, "ARM\x64" at offset 0x38 (Documentation/arch/arm64/booting.rst).
    static let imageMagic: [UInt8] = [0x41, 0x52, 0x4D, 0x64]
    static let imageMagicOffset = 0x38

    /// Checks `path`'s header; throws a one-line reason when it is not bootable.
    static func check(_ path: String) throws(Problem) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(description: "cannot read kernel image \(path)")
        }
        defer { try? handle.close() }
        let header: [UInt8]
        do { header = [UInt8](try handle.read(upToCount: 64) ?? Data()) } catch {
            throw Problem(description: "cannot read kernel image \(path)")
        }
        if let why = reason(header) { throw Problem(description: "kernel image \(path) \(why)") }
    }

    /// Nil when `header` (the first 64 bytes) starts a bootable image, else why not.
    static func reason(_ header: [UInt8]) -> String? {
        if header.starts(with: [0x7F, 0x45, 0x4C, 0x46]) {
            do throws(ELFError) {
                let machine = try ELFFile.machine(ofHeader: header)
                return machine == ELFFile.machineAArch64 ? nil : "is an ELF for machine \(machine), not AArch64 (183)"
            } catch {
                if case .truncated = error { return "is a truncated ELF file" }
                return "is not a 64-bit little-endian ELF"
            }
        }
        if header.count >= imageMagicOffset + imageMagic.count,
           Array(header[imageMagicOffset..<imageMagicOffset + imageMagic.count]) == imageMagic {
            return nil
        }
        return "is neither an AArch64 ELF nor an arm64 Linux Image (no \"ARM\\x64\" magic at 0x38)"
    }
}
