import DebugInfo
import Inspect

/// Typed data with no target: globals and their initial values from the ELF file's own
/// bytes (as gdb prints a global before `target remote`). Registers do not exist; a
/// variable in `.bss` or outside the file is "cannot access memory". The expression fuzzer
/// and the typed-data benchmark evaluate against it; so can any tool holding only an ELF.
public struct ELFTypedData: TypedDataContext {
    public let info: DebugInfoFile
    public let symbols: ELFSymbolTable

    public init(info: DebugInfoFile, symbols: ELFSymbolTable) {
        self.info = info
        self.symbols = symbols
    }

    public func readMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
        do throws(ELFError) { return try symbols.elf.contents(at: address, length: count) } catch {
            throw .target("cannot access memory at \(Hex.format(address)) (no target: only the ELF's initialised data)")
        }
    }

    public func registerValue(_ name: String) throws(CommandError) -> UInt64 {
        throw .unavailable("$\(CommandError.clip(name)): no target, so no registers (attach first)")
    }

    public func globalVariable(_ name: String) throws(CommandError) -> GlobalVariable? {
        do throws(DebugInfoError) { return try info.globalVariable(named: name) } catch { throw .failed("\(name): \(error)") }
    }

    public func symbol(_ name: String) throws(CommandError) -> (address: UInt64, isData: Bool) {
        guard let address = symbols.address(of: name) else { throw .failed("No symbol \"\(CommandError.clip(name))\" in current context.") }
        return (address, symbols.elf.symbol(named: name)?.kind == .object)
    }

    public func type(named name: String) throws(CommandError) -> DebugType? {
        do throws(DebugInfoError) { return try info.type(named: name) } catch { throw .failed("\(name): \(error)") }
    }

    public func isTypeName(_ name: String) -> Bool { info.isTypeName(name) }

    public func symbolize(_ address: UInt64) -> String? {
        guard let (name, offset) = symbols.symbolicate(address), offset < 0x10_0000 else { return nil }
        return offset == 0 ? name : "\(name)+\(offset)"
    }
}
