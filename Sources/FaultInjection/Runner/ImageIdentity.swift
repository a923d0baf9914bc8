import Foundation
import Inspect

/// Which kernel image a trace was recorded on: the ELF's GNU build id, or
/// (the kernel is linked without one) FNV-1a 64 of the file's bytes.
public enum ImageIdentity {
    public static func of(path: String) throws(FaultInjectionError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badFile(path: path, line: nil, reason: "cannot read the kernel image")
        }
        if let elf = try? ELFFile(bytes: [UInt8](data)), let id = elf.buildID { return "build-id:" + id }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return "fnv1a64:" + String(format: "%016llx", hash)
    }
}
