/// The EL0 program images a kernel ELF embeds, found by their symbol pairs
/// `mm_user_image_<name>_start` / `mm_user_image_<name>_end` (user_images.S).
/// Each image is an ELF of its own, with its own symbols and DWARF.
public struct EmbeddedProgram: Sendable {
    /// `init` for `mm_user_image_init_start`.
    public var name: String
    /// The program's ELF file, as the kernel image holds it.
    public var image: [UInt8]

    /// Every embedded program of `kernel`, by name; an image that cannot be read from the file is left out.
    public static func all(in kernel: ELFFile) -> [EmbeddedProgram] {
        let prefix = "mm_user_image_", suffix = "_start"
        var programs: [EmbeddedProgram] = []
        for symbol in kernel.symbols where symbol.name.hasPrefix(prefix) && symbol.name.hasSuffix(suffix) {
            let name = String(symbol.name.dropFirst(prefix.count).dropLast(suffix.count))
            guard !name.isEmpty, let end = kernel.symbol(named: prefix + name + "_end"), end.address > symbol.address,
                  let bytes = try? kernel.contents(at: symbol.address, length: Int(end.address - symbol.address)) else { continue }
            programs.append(EmbeddedProgram(name: name, image: bytes))
        }
        return programs.sorted { $0.name < $1.name }
    }
}
