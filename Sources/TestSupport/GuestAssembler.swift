import Foundation

/// Builds the bare-metal test guests (TinyGuest, MMUGuest) from assembly.
enum GuestAssembler {
    /// Assembles and links `source` at 0x40080000 into `elf` with `clang` (+ lld).
    static func assemble(_ source: String, into elf: String, with clang: String, what: String) throws {
        let result = try ChildProcess.run(clang, ["--target=aarch64-none-elf", "-nostdlib", "-fuse-ld=lld", "-Wl,-N",
                                                  "-Wl,-Ttext=0x40080000", "-Wl,-e,_start", "-o", elf, source],
                                          timeout: 60)
        guard result.status == 0 else {
            throw Tools.Missing(description: "building \(what) with \(clang) failed (needs clang and ld.lld): \(result.combined)")
        }
    }
}
