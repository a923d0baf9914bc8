import Foundation

/// Readable names for Swift's mangled symbols (`$e…` from Embedded Swift,
/// `$s…`), for labels such as `KernelTasks.mmException+0x10`, using the Swift
/// runtime's own demangler.
public enum SwiftSymbolNames {
    /// `Module.function` (argument list and private-discriminator hash
    /// dropped) for a mangled Swift name; nil for anything else, or when the
    /// demangled form is not a plain qualified name (closures, thunks,
    /// specialisations), which keep their mangled name.
    public static func shortName(_ mangled: String) -> String? {
        guard mangled.hasPrefix("$e") || mangled.hasPrefix("$s"), let full = demangle(mangled) else { return nil }
        // `Module.(name in _0123ABCD)(args)`: a private function's discriminator.
        var text = Substring(full)
        var name = ""
        while let open = text.firstIndex(of: "(") {
            let before = text[..<open]
            let rest = text[text.index(after: open)...]
            guard before.hasSuffix("."), let inRange = rest.range(of: " in _"), let close = rest.firstIndex(of: ")"),
                  inRange.lowerBound < close else {
                name += before
                return isPlainQualifiedName(name) ? name : nil
            }
            name += before + rest[..<inRange.lowerBound]
            text = rest[rest.index(after: close)...]
        }
        name += text
        return isPlainQualifiedName(name) ? name : nil
    }

    /// `closure #1 in Kernel.runMemorySelfTest` for a closure's mangled name (the
    /// signatures the demangler adds dropped); nil for anything else, or when a
    /// private discriminator makes the text ambiguous.
    public static func closureName(_ mangled: String) -> String? {
        guard mangled.hasPrefix("$e") || mangled.hasPrefix("$s"), let full = demangle(mangled),
              full.hasPrefix("closure #") || full.hasPrefix("implicit closure #"), !full.contains(" in _") else { return nil }
        let parts = full.components(separatedBy: " in ").map { part -> String in
            let cut = part.firstIndex(of: "(").map { part[..<$0] } ?? Substring(part)
            return cut.trimmingCharacters(in: .whitespaces)
        }
        guard let last = parts.last, isPlainQualifiedName(last), !parts.contains(where: \.isEmpty) else { return nil }
        return parts.joined(separator: " in ")
    }

    /// `A.b.c` made of identifier characters only, with at least one dot.
    private static func isPlainQualifiedName(_ name: String) -> Bool {
        name.contains(".") && !name.hasPrefix(".") && !name.hasSuffix(".")
            && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
    }

    /// The runtime demangler's full text, or nil.
    private static func demangle(_ mangled: String) -> String? {
        let utf8 = Array(mangled.utf8)
        guard let result = utf8.withUnsafeBufferPointer({ buffer in
            buffer.withMemoryRebound(to: CChar.self) { swiftDemangle($0.baseAddress, UInt(buffer.count), nil, nil, 0) }
        }) else { return nil }
        defer { free(result) }
        let text = String(cString: result)
        return text == mangled ? nil : text
    }
}

@_silgen_name("swift_demangle")
private func swiftDemangle(_ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: UInt,
                           _ outputBuffer: UnsafeMutablePointer<CChar>?, _ outputBufferSize: UnsafeMutablePointer<UInt>?,
                           _ flags: UInt32) -> UnsafeMutablePointer<CChar>?
